# A service that calls another one through its published port (the seed's service interaction).
import os
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

API_URL = os.environ.get("API_URL", "http://localhost:8080")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        with urllib.request.urlopen(API_URL + "/", timeout=5) as r:
            upstream = r.read()
        body = b"worker asked the api and got: " + upstream
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(("", int(os.environ["PORT"])), Handler).serve_forever()
