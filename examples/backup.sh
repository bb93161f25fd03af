#!/bin/bash
# A job: `prisn deploy examples/backup.sh --name backup-job`, then `prisn trigger backup-job`.
echo "backup started (execution $PRISN_EXECUTION_ID)"
tar -czf "backup-$(date +%s).tar.gz" --files-from /dev/null
echo "backup done"
