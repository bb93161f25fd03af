# A cron job: `prisn deploy examples/report.py --schedule "0 3 * * *"`.
import datetime
import os

print(f"nightly report for {datetime.date.today()} ({os.environ.get('PRISN_DEPLOYMENT')})")
