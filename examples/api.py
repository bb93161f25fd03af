# An HTTP service: `prisn deploy examples/api.py --port 8080 --replicas 2 --health-path /health`.
# Each instance listens on its own $PORT; prisn publishes port 8080 and balances over them.
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GREETING = os.environ.get("GREETING", "hello")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/health":
            body = b"ok\n"
        else:
            body = (json.dumps({
                "greeting": GREETING,
                "instance": os.environ.get("PRISN_INSTANCE"),
                "has_token": bool(os.environ.get("API_TOKEN")),
            }) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print(self.command, self.path, flush=True)


print(f"{os.environ.get('PRISN_INSTANCE')} listening on {os.environ['PORT']}", flush=True)
ThreadingHTTPServer(("", int(os.environ["PORT"])), Handler).serve_forever()
