#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""prisnd's CPU while health-checking 1,000 instances (10 services x 100 replicas) with TCP
checks every second. Target: below 5% of one core. The instances are minimal Python TCP
listeners; the measurement starts once every instance is in rotation and lasts WINDOW s."""
import json
import os
import pathlib
import sys
import tempfile
import time
import urllib.request

from common import TICKS, Daemon, cpu_ticks, free_port, machine, rss_kib, wait_ready

SERVICES, REPLICAS = 10, 100
WINDOW = int(sys.argv[1]) if len(sys.argv) > 1 else 30

LISTENER = """\
import os, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["PORT"])))
s.listen(16)
while True:
    c, _ = s.accept()
    c.close()
"""


def checks_total(d):
    with urllib.request.urlopen(f"http://{d.api}/metrics") as r:
        text = r.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("prisn_health_checks_total{"))


def main():
    script = pathlib.Path(tempfile.mkdtemp()) / "listener.py"
    script.write_text(LISTENER)
    with Daemon(extra=["--tcp-ports", "20000-29999"]) as d:
        for i in range(SERVICES):
            body = {"name": f"svc-{i}", "filename": "listener.py", "source": LISTENER, "port": free_port(),
                    "replicas": REPLICAS, "healthCheck": {"tcp": {}, "interval": "1s", "timeout": "1s"}}
            req = urllib.request.Request(f"http://{d.api}/api/v1/deployments", json.dumps(body).encode(),
                                         {"Content-Type": "application/json"})
            urllib.request.urlopen(req).read()
        for i in range(SERVICES):
            wait_ready(d, f"svc-{i}", REPLICAS, timeout=600)
        time.sleep(5)  # past the fast probing of new instances
        checks_before, ticks_before, start = checks_total(d), cpu_ticks([d.proc.pid]), time.monotonic()
        time.sleep(WINDOW)
        elapsed = time.monotonic() - start
        cpu = (cpu_ticks([d.proc.pid]) - ticks_before) / TICKS / elapsed * 100
        rate = (checks_total(d) - checks_before) / elapsed
        rss = rss_kib(d.proc.pid) / 1024
        print(json.dumps({"benchmark": "health_cpu", "machine": machine(), "instances": SERVICES * REPLICAS,
                          "check": "tcp every 1s", "window_s": WINDOW, "checks_per_s": round(rate),
                          "prisnd_cpu_pct_of_core": round(cpu, 2), "prisnd_rss_MiB": round(rss, 1),
                          "target": "< 5% of one core", "pass": cpu < 5}, indent=2), flush=True)
        time.sleep(float(os.environ.get("PRISN_BENCH_HOLD", "0")))  # time to attach a profiler


if __name__ == "__main__":
    main()
