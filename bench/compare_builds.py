#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Two prisnd builds side by side: the L7 router's requests/s and CPU per request, to tell a
regression from the machine's noise. Each build runs its own prisnd in front of its own copy of
the same backend (nginx `return 200 "ok"`, run as a prisn service, ingress route); wrk
`-t2 -c50 -d5s --latency` (or -cCONNECTIONS) alternates between them ROUNDS times (p99 from wrk). CPU is prisnd's own (all its threads,
not its instances), in µs of user and system time per request.
Usage: compare_builds.py OLD_PRISND NEW_PRISND [ROUNDS [CONNECTIONS]]  (e.g. a build of an earlier commit
in a git worktree against build/release/src/prisnd). Needs nginx and wrk."""
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

import common
from common import NGINX_BACKEND, Daemon, free_port, wait_ready


def cpu_ticks(pid):
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])  # utime, stime


def start(binary, work, label):
    common.PRISND = pathlib.Path(binary)
    port = free_port()
    d = Daemon(http=f"127.0.0.1:{port}").__enter__()
    script = work / f"backend-{label}.sh"
    script.write_text(NGINX_BACKEND)
    d.cli("deploy", str(script), "--name", "backend", "--port", str(free_port()), "--replicas", "1")
    wait_ready(d, "backend", 1)
    body = json.dumps({"name": "bench", "rules": [{"host": "bench.local", "paths": [{"path": "/", "deployment": "backend"}]}]})
    urllib.request.urlopen(urllib.request.Request(f"http://{d.api}/api/v1/ingresses", body.encode(),
                                                  {"Content-Type": "application/json"})).read()
    return d, port


CONNECTIONS = int(sys.argv[4]) if len(sys.argv) > 4 else 50


def measure(d, port):
    hz = os.sysconf("SC_CLK_TCK")
    user0, sys0 = cpu_ticks(d.proc.pid)
    out = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", "-d5s", "--latency", "-H", "Host: bench.local", f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    user1, sys1 = cpu_ticks(d.proc.pid)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    return {"req_per_s": round(requests / 5), "user_us": round((user1 - user0) / hz / requests * 1e6, 2),
            "system_us": round((sys1 - sys0) / hz / requests * 1e6, 2),
            "p99_ms": round(float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)], 3)}


def main():
    if len(sys.argv) < 3:
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
        print(json.dumps({"benchmark": "compare_builds", "builds": builds, "rounds": rounds, "runs": runs}, indent=2))
    finally:
        for d, _ in daemons.values():
            d.__exit__(None, None, None)


if __name__ == "__main__":
    main()
