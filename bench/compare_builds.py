#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Two prisnd builds side by side: the L7 router's requests/s and CPU per request, to tell a
regression from the machine's noise. Each build runs its own prisnd in front of its own copy of
the same backend (nginx `return 200 "ok"`, run as a prisn service, ingress route); wrk
`-t2 -c50 -d5s --latency` (or -cCONNECTIONS) alternates between them ROUNDS times (p99 from wrk). CPU is prisnd's own (all its threads,
not its instances), in µs of user and system time per request. MODE: `http` (the default), `https`
(keep-alive requests over TLS) or `https-close` (one TLS handshake per request).
Usage: compare_builds.py OLD_PRISND NEW_PRISND [ROUNDS [CONNECTIONS [MODE]]]  (e.g. a build of an earlier
commit in a git worktree against build/release/src/prisnd). Needs nginx, wrk and openssl."""
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import common
from common import NGINX_BACKEND, Daemon, free_port, https_setup, wait_ready

CONNECTIONS = int(sys.argv[4]) if len(sys.argv) > 4 else 50
MODE = sys.argv[5] if len(sys.argv) > 5 else "http"


def cpu_ticks(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])  # utime, stime


def start(binary, work, label):
    """A prisnd of `binary` with the backend behind an ingress route: (daemon, the URL to load)."""
    common.PRISND = pathlib.Path(binary)
    port = free_port()
    if MODE == "http":
        d = Daemon(http=f"127.0.0.1:{port}").__enter__()
        url = f"http://127.0.0.1:{port}/"
    else:
        (work / label).mkdir()
        _, _, https_port, extra = https_setup(work / label)
        d = Daemon(extra=extra).__enter__()
        url = f"https://127.0.0.1:{https_port}/"
    script = work / f"backend-{label}.sh"
    script.write_text(NGINX_BACKEND)
    d.cli("deploy", str(script), "--name", "backend", "--port", str(free_port()), "--replicas", "1")
    wait_ready(d, "backend", 1)
    body = json.dumps({"name": "bench", "rules": [{"host": "bench.local", "paths": [{"path": "/", "deployment": "backend"}]}]})
    urllib.request.urlopen(urllib.request.Request(f"http://{d.api}/api/v1/ingresses", body.encode(),
                                                  {"Content-Type": "application/json"})).read()
    return d, url


def measure(d, url):
    hz = os.sysconf("SC_CLK_TCK")
    close = ["-H", "Connection: close"] if MODE == "https-close" else []
    user0, sys0 = cpu_ticks(d.proc.pid)
    out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", "-d5s", "--latency", "-H", "Host: bench.local", *close, url],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    user1, sys1 = cpu_ticks(d.proc.pid)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    return {"req_per_s": round(requests / 5), "user_us": round((user1 - user0) / hz / requests * 1e6, 2),
            "system_us": round((sys1 - sys0) / hz / requests * 1e6, 2),
            "p99_ms": round(float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)], 3)}


def main():
    if len(sys.argv) < 3 or MODE not in ("http", "https", "https-close"):
        sys.exit(__doc__)
    builds = {"old": sys.argv[1], "new": sys.argv[2]}
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 6
    os.environ["PATH"] += ":/usr/sbin"
    work = pathlib.Path(tempfile.mkdtemp(prefix="prisn-bench-compare-"))
    daemons = {}
    try:
        for label, binary in builds.items():
            daemons[label] = start(binary, work, label)
        time.sleep(1)
        runs = {label: [] for label in builds}
        for r in range(rounds):
            for label in (["old", "new"] if r % 2 == 0 else ["new", "old"]):
                runs[label].append(measure(*daemons[label]))
        medians = {label: {key: statistics.median(m[key] for m in ms) for key in ms[0]} for label, ms in runs.items()}
        print(json.dumps({"benchmark": "compare_builds", "builds": builds, "mode": MODE, "rounds": rounds, "runs": runs,
                          "median": medians}, indent=2))
    finally:
        for d, _ in daemons.values():
            d.__exit__(None, None, None)


if __name__ == "__main__":
    main()
