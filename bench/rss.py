#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""prisnd's resident memory: idle, then with 100 running instances (a service with a port,
so the L4 proxy, health checks and log monitoring are all active).
Targets: idle <= 15 MiB; 100 instances <= 40 MiB."""
import json
import pathlib
import tempfile
import time

from common import Daemon, free_port, machine, rss_kib, wait_ready

SERVICE = """\
import os, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["PORT"])))
s.listen(16)
while True:
    c, _ = s.accept()
    c.sendall(b"HTTP/1.0 200 OK\\r\\nContent-Length: 3\\r\\n\\r\\nok\\n")
    c.close()
"""


def main():
    script = pathlib.Path(tempfile.mkdtemp()) / "tiny.py"
    script.write_text(SERVICE)
    with Daemon() as d:
        time.sleep(2)
        idle = rss_kib(d.proc.pid)
        d.cli("deploy", str(script), "--name", "tiny", "--port", str(free_port()), "--replicas", "100")
        wait_ready(d, "tiny", 100, timeout=300)
        time.sleep(3)  # a few health-check and log-scan rounds
        loaded = rss_kib(d.proc.pid)
    print(json.dumps({"benchmark": "rss", "machine": machine(), "idle_MiB": round(idle / 1024, 2),
                      "with_100_instances_MiB": round(loaded / 1024, 2),
                      "target": "idle <= 15 MiB, 100 instances <= 40 MiB",
                      "pass": idle / 1024 <= 15 and loaded / 1024 <= 40}, indent=2))


if __name__ == "__main__":
    main()
