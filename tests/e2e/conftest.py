# SPDX-License-Identifier: MIT
"""Harness for end-to-end tests: starts a real prisnd on ephemeral ports in a temporary data
directory, runs the real prisn CLI against it, and stops every process it started by PID."""
import json
import os
import pathlib
import signal
import socket
import subprocess
import time

import pytest
import requests

PRISND = os.environ.get("PRISND", str(pathlib.Path(__file__).resolve().parents[2] / "build/release/src/prisnd"))
PRISN = os.environ.get("PRISN", str(pathlib.Path(__file__).resolve().parents[2] / "build/release/src/prisn"))
E2E_NETWORK = os.environ.get("PRISN_E2E_NETWORK", "host")


_GIVEN_PORTS = set()


def free_port():
    """A TCP port that is free right now on all addresses, and not one this process was given
    before: two calls in a row may otherwise get the same port from the kernel."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("0.0.0.0", 0))
            port = s.getsockname()[1]
        if port not in _GIVEN_PORTS:
            _GIVEN_PORTS.add(port)
            return port
    raise RuntimeError("no free port that was not given out before")


def free_port_range(size=20):
    """LO-HI of `size` ports that are free right now, for --tcp-ports."""
    for _ in range(200):
        lo = free_port()
        if lo + size > 65000:
            continue
        ok = True
        for p in range(lo, lo + size):
            with socket.socket() as s:
                # As prisnd binds its listeners: a port whose old connections linger in
                # TIME_WAIT (after a benchmark's thousands of closes) is free to it.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("0.0.0.0", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return f"{lo}-{lo + size - 1}"
    raise RuntimeError("no free port range")


def wait_until(predicate, timeout=15.0, interval=0.05, message="condition"):
    """Polls `predicate` until it returns a truthy value; fails the test after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except (requests.RequestException, OSError, KeyError, ValueError) as e:
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r})")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Prisnd:
    """One prisnd process and its data directory."""

    def __init__(self, data_dir, extra_args=(), env=None, network=E2E_NETWORK, cwd=None):
        # --data-dir as given (relative to `cwd` when that is given), and where it is.
        self.data_arg = str(data_dir)
        self.cwd = cwd
        self.data_dir = pathlib.Path(cwd or ".") / data_dir
        self.extra_args = list(extra_args)
        self.network = network
        self.env = dict(os.environ if env is None else env)
        self.env.pop("PRISN_SERVER", None)
        self.tcp_ports = free_port_range()
        self.proc = None
        self.log_path = self.data_dir.parent / (self.data_dir.name + ".prisnd.log")

    # --- lifecycle -------------------------------------------------------------------------
    def start(self, wait=True):
        listen = self.data_dir / "listen.json"
        if listen.exists():
            listen.unlink()
        api = [] if "--api" in self.extra_args else ["--api", "127.0.0.1:0"]  # a fixed one survives a restart
        dns = [] if "--dns" in self.extra_args else ["--dns", "127.0.0.1:0"]
        http = [] if "--http" in self.extra_args else ["--http", "127.0.0.1:0"]
        # The suite runs in host mode, as root too: ctest runs test files in parallel, and
        # only one prisnd at a time can own the bridge, so prisnd's default (bridge as root)
        # would depend on which file started first. test_bridge.py covers bridge mode.
        # PRISN_E2E_NETWORK=bridge or "default" (prisnd's own) runs the suite in that mode,
        # serially: then only tests that check host-mode facts fail (instance IP 127.0.0.1,
        # a port per instance, the node's resolv.conf). network="default" starts one prisnd
        # on its own default whatever the suite runs in.
        network = [] if "--network" in self.extra_args or self.network == "default" else ["--network", self.network]
        args = [PRISND, "--data-dir", self.data_arg, *api, *dns, *http,
                "--tcp-ports", self.tcp_ports, *network] + self.extra_args
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=self.env, cwd=self.cwd)
        if wait:
            wait_until(lambda: listen.exists() or self.proc.poll() is not None, 20, message="listen.json")
            if self.proc.poll() is not None:
                raise AssertionError(f"prisnd exited with {self.proc.returncode}:\n{self.read_log()}")
            bound = json.loads(listen.read_text())
            self.api = "http://" + bound["api"]
            self.dns = None
            if bound.get("dns"):
                host, port = bound["dns"].rsplit(":", 1)
                self.dns = (host, int(port))
            self.http = "http://" + bound["http"] if bound.get("http") else None
            self.https = bound.get("https")
        return self

    def stop(self, timeout=30):
        """SIGTERM and wait: a graceful shutdown; returns the exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError("prisnd did not stop within %ss after SIGTERM" % timeout)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def read_log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # --- clients ---------------------------------------------------------------------------
    def url(self, path):
        return self.api + path

    def get(self, path, **kw):
        return requests.get(self.url(path), timeout=kw.pop("timeout", 10), **kw)

    def post(self, path, json_body=None, **kw):
        return requests.post(self.url(path), json=json_body, timeout=kw.pop("timeout", 10), **kw)

    def put(self, path, json_body=None, **kw):
        return requests.put(self.url(path), json=json_body, timeout=kw.pop("timeout", 10), **kw)

    def delete(self, path, **kw):
        return requests.delete(self.url(path), timeout=kw.pop("timeout", 10), **kw)

    def cli(self, *args, check=False, timeout=60, input=None, cwd=None, env=None):
        """Runs `prisn ARGS` against this daemon; returns the CompletedProcess."""
        e = dict(os.environ)
        e["PRISN_SERVER"] = self.api
        if env:
            e.update(env)
        p = subprocess.run([PRISN, *args], capture_output=True, text=True, timeout=timeout,
                           input=input, cwd=cwd, env=e)
        if check and p.returncode != 0:
            raise AssertionError(f"prisn {' '.join(args)} exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    # --- helpers ---------------------------------------------------------------------------
    def deployment(self, name, ns="default"):
        r = self.get(f"/api/v1/deployments/{name}?namespace={ns}")
        r.raise_for_status()
        return r.json()

    def endpoints(self, name):
        r = self.get(f"/api/v1/endpoints/{name}")
        r.raise_for_status()
        return r.json()["endpoints"]

    def wait_phase(self, name, phase, timeout=20):
        return wait_until(lambda: self.deployment(name)["status"]["phase"] == phase, timeout,
                          message=f"{name} to be {phase}")

    def wait_ready(self, name, replicas, timeout=20):
        def ready():
            d = self.deployment(name)
            return d["status"]["ready_replicas"] == replicas and d["status"]["phase"] == "Running"
        return wait_until(ready, timeout, message=f"{name} to have {replicas} ready")

    def wait_execution(self, exec_id, timeout=30):
        def done():
            e = self.get(f"/api/v1/executions/{exec_id}").json()
            return e if e["status"] in ("Completed", "Failed") else None
        return wait_until(done, timeout, message=f"execution {exec_id} to end")

    def instance_pids(self, name):
        return sorted(ep["pid"] for ep in self.endpoints(name) if ep["pid"] is not None)


@pytest.fixture
def daemon_factory(tmp_path):
    """Creates prisnd processes; all are stopped (and their workloads checked) at the end."""
    started = []

    def make(data_dir=None, extra_args=(), start=True, env=None, network=E2E_NETWORK, cwd=None):
        d = Prisnd(data_dir or (tmp_path / f"data{len(started)}"), extra_args, env, network, cwd)
        started.append(d)
        if start:
            d.start()
        return d

    yield make
    for d in started:
        if d.proc is not None and d.proc.poll() is None:
            d.stop()


@pytest.fixture
def prisnd(daemon_factory):
    return daemon_factory()


@pytest.fixture
def scripts(tmp_path):
    """Writes script files: scripts("name.py", "source") -> path."""
    def write(name, text):
        p = tmp_path / "scripts" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return str(p)
    return write


# The start of a raw TCP workload: a socket listening on the instance's PORT, as `s`.
RAW_LISTENER = """\
import os, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["PORT"])))
s.listen()
"""

HTTP_SERVICE = """\
import os, sys
from http.server import HTTPServer, BaseHTTPRequestHandler

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = (os.environ.get("PRISN_INSTANCE", "?") + " " + os.environ.get("VERSION", "v1") + "\\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, fmt, *args):
        print("request", self.path, flush=True)

HTTPServer.allow_reuse_address = True
print("listening on", os.environ["PORT"], flush=True)
HTTPServer(("", int(os.environ["PORT"])), Handler).serve_forever()
"""
