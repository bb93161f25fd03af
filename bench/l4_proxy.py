#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The L4 published port against connecting to the instance directly, with wrk, in one run.
Two backends deployed as prisn services: Python's http.server (what users deploy) and nginx
(a backend fast enough that the proxy's own cost shows). Target: >= 0.8x the direct req/s.
Needs wrk and nginx (apt-get install wrk nginx-light)."""
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from common import Daemon, free_port, machine, nginx_backend, wait_ready

DURATION = sys.argv[1] if len(sys.argv) > 1 else "8s"
CONNECTIONS = 50

PYTHON_BACKEND = """\
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\\n")
    def log_message(self, *a):
        pass
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""

NGINX_BACKEND = nginx_backend()  # nginx's default keepalive_requests, as measured so far


def wrk(port):
    out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency", f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    return {"req_per_s": rps, "p99_ms": round(float(p99.group(1)) * scale, 3), "errors": errors.group(0) if errors else "none"}


def measure(d, name, script_text, filename):
    script = pathlib.Path(tempfile.mkdtemp()) / filename
    script.write_text(script_text)
    published = free_port()
    d.cli("deploy", str(script), "--name", name, "--port", str(published), "--replicas", "1")
    wait_ready(d, name, 1)
    with urllib.request.urlopen(f"http://{d.api}/api/v1/endpoints/{name}") as r:
        direct = json.load(r)["endpoints"][0]["port"]
    rounds = []
    for _ in range(2):  # alternate so both see the same machine state
        rounds.append({"direct": wrk(direct), "published": wrk(published)})
    d.cli("delete", name)
    best = lambda key: max(r[key]["req_per_s"] for r in rounds)
    return {"rounds": rounds, "ratio": round(best("published") / best("direct"), 3)}


def main():
    if not shutil.which("wrk"):
        sys.exit("l4_proxy: needs wrk (apt-get install wrk)")
    results = {"benchmark": "l4_proxy", "machine": machine(), "wrk": f"-t2 -c{CONNECTIONS} -d{DURATION}"}
    with Daemon() as d:
        results["python_backend"] = measure(d, "pyback", PYTHON_BACKEND, "pyback.py")
        if shutil.which("nginx"):
            results["nginx_backend"] = measure(d, "ngxback", NGINX_BACKEND, "ngxback.sh")
        time.sleep(0.5)
    results["target"] = "published >= 0.8x direct"
    results["pass"] = all(v["ratio"] >= 0.8 for k, v in results.items() if k.endswith("_backend"))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
