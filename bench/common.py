# SPDX-License-Identifier: MIT
"""Shared helpers for prisn's benchmarks: start/stop prisnd, percentiles, RSS."""
import json
import os
import pathlib
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BUILD = pathlib.Path(os.environ.get("PRISN_BUILD", ROOT / "build/release"))
PRISND = BUILD / "src/prisnd"
# prisnd's network mode in every benchmark: host unless PRISN_BENCH_NETWORK says (bridge needs
# root; only proxies.py finds its backend by address and so measures either mode).
NETWORK = os.environ.get("PRISN_BENCH_NETWORK", "host")
PRISN = BUILD / "src/prisn"
PYTHON = "/usr/bin/python3"


def require_tools(benchmark, tools):
    """Exits with a message naming the first of `tools` that is missing; puts /usr/sbin (where
    nginx, nsd and dnsmasq live) on PATH."""
    for tool in tools:
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            sys.exit(f"{benchmark} benchmark: needs {tool} (packaging/install-deps.sh --bench)")
    os.environ["PATH"] += ":/usr/sbin"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def summary(values_s):
    ms = [v * 1000 for v in values_s]
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 3), "p90_ms": round(percentile(ms, 90), 3),
            "p99_ms": round(percentile(ms, 99), 3), "max_ms": round(max(ms), 3)}


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Daemon:
    """prisnd on a temporary data dir with an ephemeral API port; stopped on exit."""

    def __init__(self, data_dir=None, extra=(), dns="off", http="off"):
        self.tmp = None
        if data_dir is None:
            self.tmp = tempfile.mkdtemp(prefix="prisn-bench-")
            data_dir = self.tmp
        self.data_dir = pathlib.Path(data_dir)
        self.extra = list(extra)
        self.dns_flag = dns
        self.http_flag = http

    def __enter__(self):
        listen = self.data_dir / "listen.json"
        if listen.exists():
            listen.unlink()
        self.log = open(self.data_dir.parent / (self.data_dir.name + ".log"), "ab")
        self.proc = subprocess.Popen([str(PRISND), "--data-dir", str(self.data_dir), "--api", "127.0.0.1:0",
                                      "--dns", self.dns_flag, "--http", self.http_flag, "--network", NETWORK,
                                      "--log-level", "warn"] + self.extra,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(400):
            if listen.exists():
                break
            time.sleep(0.025)
        bound = json.loads(listen.read_text())
        self.api = bound["api"]
        self.dns = bound.get("dns")
        self.env = dict(os.environ, PRISN_SERVER="http://" + self.api)
        return self

    def cli(self, *args, check=True):
        return subprocess.run([str(PRISN), *args], capture_output=True, text=True, env=self.env, check=check)

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


def wait_ready(daemon, name, replicas, timeout=120):
    import urllib.request
    deadline = time.time() + timeout
    while time.time() < deadline:
        with urllib.request.urlopen(f"http://{daemon.api}/api/v1/deployments/{name}") as r:
            st = json.load(r)["status"]
        if st["ready_replicas"] == replicas and st["phase"] == "Running":
            return
        time.sleep(0.2)
    raise RuntimeError(f"{name} not ready: {st}")


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu": cpu, "kernel": os.uname().release}


def cpu_ticks(pids):
    """User + system clock ticks used so far by these processes (all their threads)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return total


TICKS = os.sysconf("SC_CLK_TCK")


# A backend for the proxy benchmarks, run as a prisn service: nginx answering `return 200 "ok"`
# on $PORT, one worker. `keepalive_requests` None keeps nginx's default (1000 per connection).
def nginx_backend(keepalive_requests=None):
    keepalive = f"\n  keepalive_requests {keepalive_requests};" if keepalive_requests else ""
    return f"""\
#!/bin/bash
cat > nginx.conf <<CONF
worker_processes 1;
pid $PWD/nginx.pid;
error_log stderr warn;
user root;
events {{ worker_connections 4096; }}
http {{
  access_log off;{keepalive}
  server {{ listen 127.0.0.1:$PORT; location / {{ return 200 "ok\\n"; }} }}
}}
CONF
exec nginx -p "$PWD" -c "$PWD/nginx.conf" -g 'daemon off;'
"""


# What proxies.py and compare_builds.py put behind the proxies: connections never closed by it.
NGINX_BACKEND = nginx_backend(keepalive_requests=1000000)


def make_cert(work):
    key, crt = work / "tls.key", work / "tls.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(crt), "-days", "2", "-subj", "/CN=bench.local",
                    "-addext", "subjectAltName=DNS:bench.local"], check=True, capture_output=True)
    return str(crt), str(key)


def https_setup(work):
    """A certificate for bench.local and a config file naming it: (crt, key, the HTTPS port, the
    prisnd flags that serve HTTPS on it)."""
    crt, key = make_cert(work)
    (work / "config.yaml").write_text(json.dumps({"proxy": {"https": {"cert": crt, "key": key}}}))
    https_port = free_port()
    return crt, key, https_port, ["--https", f"127.0.0.1:{https_port}", "--config", str(work / "config.yaml")]
