#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""prisn's L7 router speaking HTTP/2 to clients against nginx's (`listen ... http2`), with h2load,
in one run, both in front of the same backend (nginx answering `return 200 "ok"`, run as a
prisn service) over HTTP/1.1 with kept-alive connections:
  h2c: prior knowledge on the plain listener    h2: TLS with ALPN h2
Each measurement: h2load -t2 -c50 -m10 -D DURATION (50 connections, 10 streams in flight on
each); ROUNDS rounds (default 4), the order alternating. Usage: http2.py [DURATION [ROUNDS]].
Target, as for HTTP/1.1 (SPEC §10): the median over rounds of prisn / nginx in the same round
>= 1.0x requests/s. h2load reports mean and spread of request time, not percentiles: the mean
is given beside. Needs nginx, h2load (nghttp2-client) and openssl (packaging/install-deps.sh --bench)."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

from common import NETWORK, TICKS, Daemon, cpu_ticks, free_port, https_setup, machine, require_tools
from proxies import deploy_backend, median, nginx_proxy, tree

DURATION = int(sys.argv[1].rstrip("s")) if len(sys.argv) > 1 else 8
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 4
WORKERS = os.cpu_count() or 2


def h2load(url, pids, authority):
    cmd = ["h2load", "-t2", "-c50", "-m10", "-D", str(DURATION), "--warm-up-time=1", "-H", f":authority: {authority}", url]
    before, t0 = cpu_ticks(pids), time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=DURATION + 60).stdout
    cpu = (cpu_ticks(pids) - before) / TICKS / (time.monotonic() - t0) * 100
    rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out).group(1))
    done = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", out)
    mean = re.search(r"time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)\b", out)
    mean_ms = float(mean.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[mean.group(2)]
    status = re.search(r"status codes: (\d+) 2xx", out)
    return {"req_per_s": round(rps), "mean_ms": round(mean_ms, 3), "cpu_pct_of_core": round(cpu, 1),
            "cpu_us_per_req": round(cpu / 100 * 1e6 / rps, 1) if rps else None,
            "failed": int(done.group(4)) + int(done.group(5)), "ok_2xx": int(status.group(1)) if status else 0}


def main():
    require_tools("http2", ("nginx", "h2load", "openssl"))
    work = pathlib.Path(tempfile.mkdtemp(prefix="prisn-bench-http2-"))
    crt, key, https_port, extra = https_setup(work)
    http_port = free_port()
    procs = []
    results = {"benchmark": "http2", "machine": machine(), "h2load": f"-t2 -c50 -m10 -D {DURATION}", "rounds": ROUNDS,
               "workers": WORKERS, "network": NETWORK}
    try:
        with Daemon(extra=extra, http=f"127.0.0.1:{http_port}") as d:
            backend = deploy_backend(d, work, free_port())
            ports = {"nginx_h2c": free_port(), "nginx_h2": free_port()}
            procs = [nginx_proxy(work, ports["nginx_h2c"], backend, WORKERS, http2=True),
                     nginx_proxy(work, ports["nginx_h2"], backend, WORKERS, tls=(crt, key), http2=True)]
            time.sleep(1)
            prisn = [d.proc.pid]
            p = {name: tree(proc.pid) for name, proc in zip(ports, procs)}
            cases = {
                "h2c": {"nginx": (f"http://127.0.0.1:{ports['nginx_h2c']}/", p["nginx_h2c"]),
                        "prisn": (f"http://127.0.0.1:{http_port}/", prisn)},
                "h2": {"nginx": (f"https://127.0.0.1:{ports['nginx_h2']}/", p["nginx_h2"]),
                       "prisn": (f"https://127.0.0.1:{https_port}/", prisn)},
            }
            runs = {case: {name: [] for name in targets} for case, targets in cases.items()}
            for r in range(ROUNDS):
                for case, targets in cases.items():
                    names = list(targets) if r % 2 == 0 else list(targets)[::-1]
                    for name in names:
                        url, pids = targets[name]
                        runs[case][name].append(h2load(url, pids, "bench.local"))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    results["runs"] = runs
    per_round = {}
    for case, by in runs.items():
        ratios = [m["req_per_s"] / n["req_per_s"] for m, n in zip(by["prisn"], by["nginx"])]
        per_round[case] = {"ratios": [round(x, 3) for x in ratios], "median": round(median(ratios), 3),
                           "median_mean_ms": [median([m["mean_ms"] for m in by["prisn"]]),
                                              median([m["mean_ms"] for m in by["nginx"]])],
                           "median_cpu_us_per_req": [median([m["cpu_us_per_req"] for m in by["prisn"]]),
                                                     median([m["cpu_us_per_req"] for m in by["nginx"]])],
                           "failed": sum(m["failed"] for ms in by.values() for m in ms)}
    results["per_round"] = per_round
    results["target"] = "median over rounds of prisn / nginx in the same round >= 1.0x requests/s, no failed request"
    results["pass"] = all(v["median"] >= 1.0 and v["failed"] == 0 for v in per_round.values())
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
