#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""API latency with a large store: 1,000 deployments and 100,000 executions seeded into
state.db, then sequential requests on one keep-alive connection.
Target: p99 of GET /api/v1/deployments/{name} and POST /api/v1/executions <= 10 ms."""
import http.client
import json
import shutil
import subprocess
import sys
import tempfile
import time

from common import BUILD, Daemon, machine, summary

DEPLOYMENTS, EXECUTIONS = 1000, 100_000
N_GET = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
N_POST = int(sys.argv[2]) if len(sys.argv) > 2 else 500


def request(conn, method, path, body=None):
    start = time.perf_counter()
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    elapsed = time.perf_counter() - start
    assert 200 <= r.status < 300, (r.status, data[:200])
    return elapsed, json.loads(data) if data else None


def main():
    data_dir = tempfile.mkdtemp(prefix="prisn-bench-api-")
    seeded = time.perf_counter()
    subprocess.run([str(BUILD / "bench/prisn_bench_seed"), data_dir, str(DEPLOYMENTS), str(EXECUTIONS)], check=True,
                   stdout=subprocess.DEVNULL)
    seeded = time.perf_counter() - seeded
    try:
        with Daemon(data_dir) as d:
            host, port = d.api.rsplit(":", 1)
            conn = http.client.HTTPConnection(host, int(port))
            for i in range(50):
                request(conn, "GET", f"/api/v1/deployments/job-{i}")
            gets = [request(conn, "GET", f"/api/v1/deployments/job-{i % DEPLOYMENTS}")[0] for i in range(N_GET)]
            posts, ids = [], []
            for i in range(N_POST):
                t, body = request(conn, "POST", "/api/v1/executions", {"deployment_id": f"job-{(i * 7) % DEPLOYMENTS}"})
                posts.append(t)
                ids.append(body["id"])
            lists = [request(conn, "GET", "/api/v1/executions?limit=100")[0] for _ in range(200)]
            deadline = time.time() + 120
            for exec_id in ids[-20:]:
                while time.time() < deadline:
                    if request(conn, "GET", f"/api/v1/executions/{exec_id}")[1]["status"] in ("Completed", "Failed"):
                        break
                    time.sleep(0.05)
            count = request(conn, "GET", "/api/v1/deployments")[1]["items"]
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    g, p = summary(gets), summary(posts)
    print(json.dumps({"benchmark": "api_latency", "machine": machine(), "seeded": f"{DEPLOYMENTS} deployments, "
                      f"{EXECUTIONS} executions in {seeded:.1f}s", "deployments_listed": len(count),
                      "GET /api/v1/deployments/{name}": g, "POST /api/v1/executions": p,
                      "GET /api/v1/executions?limit=100": summary(lists),
                      "target": "p99 <= 10 ms", "pass": g["p99_ms"] <= 10 and p["p99_ms"] <= 10}, indent=2))


if __name__ == "__main__":
    main()
