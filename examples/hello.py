# A one-off run: `prisn run examples/hello.py -- some args`.
import sys

print("hello from prisn", " ".join(sys.argv[1:]))
