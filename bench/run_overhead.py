#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""`prisn run hello.py` against `python3 hello.py`, in one run: wall time from start to exit,
alternating the two so both see the same machine. Target: overhead <= 20 ms at the median."""
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from common import PRISN, PYTHON, Daemon, machine, summary

N = int(sys.argv[1]) if len(sys.argv) > 1 else 40


def timed(cmd, env=None):
    start = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, env=env)
    elapsed = time.perf_counter() - start
    assert p.returncode == 0 and p.stdout == b"hello\n", p
    return elapsed


def main():
    script = pathlib.Path(tempfile.mkdtemp()) / "hello.py"
    script.write_text("print('hello')\n")
    direct, via = [], []
    with Daemon() as d:
        for _ in range(5):  # warm caches on both paths
            timed([PYTHON, str(script)])
            timed([str(PRISN), "run", str(script)], d.env)
        for _ in range(N):
            direct.append(timed([PYTHON, str(script)]))
            via.append(timed([str(PRISN), "run", str(script)], d.env))
    overhead = (statistics.median(via) - statistics.median(direct)) * 1000
    result = {"benchmark": "run_overhead", "machine": machine(), "python3 hello.py": summary(direct),
              "prisn run hello.py": summary(via), "overhead_p50_ms": round(overhead, 2),
              "ratio_p50": round(statistics.median(via) / statistics.median(direct), 2),
              "target": "overhead <= 20 ms", "pass": overhead <= 20}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
