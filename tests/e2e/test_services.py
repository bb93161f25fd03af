# SPDX-License-Identifier: MIT
"""Services in host network mode: replicas, the published L4 port, scaling, restarts and
backoff, logs, rolling updates, delete, and the seed's multi-service examples (SPEC §3, §4,
§6.4, §7.1, §7.4; seeds/003 "Building Multi-Service Systems")."""
import os
import re
import signal
import socket
import threading
import time

import requests

from conftest import HTTP_SERVICE, free_port, pid_alive, wait_until

GRACEFUL_SERVICE = HTTP_SERVICE.replace("HTTPServer.allow_reuse_address = True\n", """\
import signal
def _term(*_):
    with open(os.environ["TERM_MARKER"], "a") as f:
        f.write("term " + os.environ["PRISN_INSTANCE"] + "\\n")
    os._exit(0)
signal.signal(signal.SIGTERM, _term)
HTTPServer.allow_reuse_address = True
""")
assert "TERM_MARKER" in GRACEFUL_SERVICE


# --- helpers --------------------------------------------------------------------------------
def fetch(port, path="/", timeout=5):
    """One GET over a fresh connection (requests.get builds a new Session each call)."""
    r = requests.get(f"http://127.0.0.1:{port}{path}", timeout=timeout)
    r.raise_for_status()
    return r.text.strip()


def answers(port, count, path="/"):
    """The bodies of `count` requests through `port`."""
    return [fetch(port, path) for _ in range(count)]


def port_closed(port):
    with socket.socket() as s:
        s.settimeout(1)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            return True
    return False


def deploy(prisnd, file, name, port, replicas, *extra):
    p = prisnd.cli("deploy", file, "--name", name, "--port", str(port), "--replicas", str(replicas), *extra)
    assert p.returncode == 0, f"deploy failed: {p.stdout}\n{p.stderr}\n{prisnd.read_log()[-3000:]}"
    return p


def wait_rolled(prisnd, name, replicas, old_pids):
    """Waits until `replicas` healthy instances run and none of them is one of `old_pids`."""
    def rolled():
        eps = prisnd.endpoints(name)
        return (len(eps) == replicas and all(ep["healthy"] for ep in eps)
                and not set(ep["pid"] for ep in eps) & old_pids)
    wait_until(rolled, 30, message="every instance replaced")


def pids_by_instance(prisnd, name):
    return {ep["instance"]: ep["pid"] for ep in prisnd.endpoints(name)}


class Load:
    """Background requests through a published port, each on a new connection, until stopped.
    Bounded: at most `max_requests` and `max_seconds`."""

    def __init__(self, port, path="/", max_requests=5000, max_seconds=60):
        self.port, self.path = port, path
        self.max_requests, self.max_seconds = max_requests, max_seconds
        self.ok, self.failures = [], []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        deadline = time.monotonic() + self.max_seconds
        for _ in range(self.max_requests):
            if self._stop.is_set() or time.monotonic() > deadline:
                break
            try:
                self.ok.append(fetch(self.port, self.path))
            except Exception as e:  # noqa: BLE001 - every failure counts
                self.failures.append(repr(e))
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(15)
        assert not self._thread.is_alive()

    def seen(self, predicate):
        return any(predicate(a) for a in list(self.ok))


# --- deploy, endpoints, the published port --------------------------------------------------
def test_deploy_replicas_endpoints_and_round_robin(prisnd, scripts):
    port = free_port()
    f = scripts("api.py", HTTP_SERVICE)
    p = deploy(prisnd, f, "api", port, 3)
    assert "api" in p.stdout
    prisnd.wait_ready("api", 3)

    body = prisnd.get("/api/v1/endpoints/api").json()
    assert body["name"] == "api"
    eps = body["endpoints"]
    assert sorted(ep["instance"] for ep in eps) == ["api-0", "api-1", "api-2"]
    inst_ports = [ep["port"] for ep in eps]
    assert len(set(inst_ports)) == 3 and port not in inst_ports
    for ep in eps:
        assert ep["healthy"] is True
        assert ep["ip"] == "127.0.0.1"
        assert isinstance(ep["pid"], int) and pid_alive(ep["pid"])
        # every instance answers on its own PORT with its own name
        assert fetch(ep["port"]).split()[0] == ep["instance"]

    d = prisnd.deployment("api")
    assert d["port"] == port
    assert d["type"] == "service" and d["replicas"] == 3
    assert d["status"]["ready_replicas"] == 3 and d["status"]["desired_replicas"] == 3

    # the deployment's port is published by the L4 proxy, round-robin over the healthy instances
    seen = {a.split()[0] for a in answers(port, 12)}
    assert seen == {"api-0", "api-1", "api-2"}


def test_cli_get_endpoints_and_apps(prisnd, scripts):
    port = free_port()
    deploy(prisnd, scripts("api.py", HTTP_SERVICE), "api", port, 3)
    prisnd.wait_ready("api", 3)
    eps = prisnd.endpoints("api")

    p = prisnd.cli("get", "endpoints", "api")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert lines[0].split() == ["NAME", "ENDPOINTS"]
    assert len(lines) == 2 and lines[1].split()[0] == "api"
    for ep in eps:
        assert f"127.0.0.1:{ep['port']}" in lines[1]
    # aligned columns: ENDPOINTS starts where the row's second column starts
    assert lines[1].index("127.0.0.1") == lines[0].index("ENDPOINTS")

    # without a name: every service of the namespace, from GET /endpoints
    listed = prisnd.get("/api/v1/endpoints").json()["items"]
    assert [s["name"] for s in listed] == ["api"] and len(listed[0]["endpoints"]) == 3, listed
    p = prisnd.cli("get", "endpoints")
    assert p.returncode == 0, p.stderr
    assert [line.split()[0] for line in p.stdout.strip().splitlines()] == ["NAME", "api"], p.stdout

    p = prisnd.cli("get", "endpoints", "api", "-o", "wide")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    header = lines[0].split()
    assert "HEALTH" in header
    assert len(lines) == 4
    for line in lines[1:]:
        assert "healthy" in line.split()

    p = prisnd.cli("get", "apps")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    header = lines[0].split()
    assert header[0] == "NAME" and "READY" in header
    row = [l for l in lines[1:] if l.split()[0] == "api"]
    assert len(row) == 1
    assert "3/3" in row[0].split()
    assert str(port) in row[0].split()


# --- scaling -------------------------------------------------------------------------------
def test_scale_up_and_down_cli_and_api(prisnd, scripts):
    port = free_port()
    deploy(prisnd, scripts("api.py", HTTP_SERVICE), "api", port, 3)
    prisnd.wait_ready("api", 3)
    before = pids_by_instance(prisnd, "api")

    p = prisnd.cli("scale", "api", "5")
    assert p.returncode == 0, p.stderr
    prisnd.wait_ready("api", 5)
    now = pids_by_instance(prisnd, "api")
    assert sorted(now) == [f"api-{i}" for i in range(5)]
    for inst, pid in before.items():  # scaling up leaves the existing instances alone
        assert now[inst] == pid
    assert prisnd.deployment("api")["replicas"] == 5
    assert {a.split()[0] for a in answers(port, 15)} == {f"api-{i}" for i in range(5)}

    r = prisnd.post("/api/v1/deployments/api/scale", {"replicas": 2})
    assert r.status_code == 200, r.text
    wait_until(lambda: sorted(pids_by_instance(prisnd, "api")) == ["api-0", "api-1"], 20,
               message="scale down to api-0, api-1")
    prisnd.wait_ready("api", 2)
    after = pids_by_instance(prisnd, "api")
    assert after == {"api-0": now["api-0"], "api-1": now["api-1"]}
    removed = [now[f"api-{i}"] for i in (2, 3, 4)]
    wait_until(lambda: not any(pid_alive(p) for p in removed), 15, message="removed instances to exit")
    assert {a.split()[0] for a in answers(port, 8)} == {"api-0", "api-1"}
    d = prisnd.deployment("api")
    assert d["replicas"] == 2 and d["status"]["desired_replicas"] == 2

    # scale to zero: Stopped, no instances
    p = prisnd.cli("scale", "api", "0")
    assert p.returncode == 0, p.stderr
    prisnd.wait_phase("api", "Stopped")
    wait_until(lambda: prisnd.endpoints("api") == [], 15, message="no instances")
    wait_until(lambda: not any(pid_alive(p) for p in after.values()), 15, message="instances to exit")


SLOW_SERVICE = HTTP_SERVICE.replace("    def do_GET(self):\n", "    def do_GET(self):\n        import time; time.sleep(1.5)\n")
assert "time.sleep" in SLOW_SERVICE


def test_scaling_down_lets_requests_in_flight_finish(prisnd, scripts):
    """Instances scaled away drain as a rollout's old ones do: out of rotation at once, stopped
    once their connections end. The seed's HTTPServer dies on SIGTERM at once, so a request in
    flight to it would be cut."""
    port = free_port()
    deploy(prisnd, scripts("slow.py", SLOW_SERVICE), "slow", port, 3)
    prisnd.wait_ready("slow", 3)
    results = []

    def one():
        try:
            results.append(requests.get(f"http://127.0.0.1:{port}/", timeout=20).text.split()[0])
        except requests.RequestException as e:
            results.append(f"error: {e}")

    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.5)  # all three are in their handlers now, one per instance (round-robin)
    assert prisnd.post("/api/v1/deployments/slow/scale", {"replicas": 1}).status_code == 200
    for t in threads:
        t.join(30)
    assert len(results) == 3 and all(r.startswith("slow-") for r in results), results
    wait_until(lambda: sorted(pids_by_instance(prisnd, "slow")) == ["slow-0"], 20, message="scale down to slow-0")
    assert answers(port, 2) == ["slow-0 v1"] * 2


# --- restarts and backoff ------------------------------------------------------------------
def test_killed_instance_is_restarted_and_port_keeps_answering(prisnd, scripts):
    port = free_port()
    deploy(prisnd, scripts("api.py", HTTP_SERVICE), "api", port, 3)
    prisnd.wait_ready("api", 3)
    assert prisnd.deployment("api")["status"]["restarts"] == 0
    victim = pids_by_instance(prisnd, "api")["api-1"]

    with Load(port) as load:
        wait_until(lambda: len(load.ok) >= 5, 10, message="load to start")
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: not pid_alive(victim), 5, message="victim to die")

        def restarted():
            eps = {ep["instance"]: ep for ep in prisnd.endpoints("api")}
            ep = eps.get("api-1")
            return ep and ep["pid"] != victim and ep["healthy"] and pid_alive(ep["pid"])
        wait_until(restarted, 20, message="api-1 to come back with a new pid")
        prisnd.wait_ready("api", 3)
        count = len(load.ok)
        wait_until(lambda: len(load.ok) >= count + 10, 10, message="more requests after the restart")
    assert load.failures == [], f"{len(load.failures)} failed of {len(load.ok) + len(load.failures)}: {load.failures[:5]}"
    d = prisnd.deployment("api")
    assert d["status"]["restarts"] >= 1
    eps = {ep["instance"]: ep for ep in prisnd.endpoints("api")}
    assert eps["api-1"]["restarts"] >= 1
    assert eps["api-0"]["restarts"] == 0
    assert load.seen(lambda a: a.startswith("api-1"))


def test_crashing_service_goes_to_crashloop_with_growing_backoff(prisnd, scripts):
    port = free_port()
    f = scripts("crash.py", "import sys\nprint('starting and dying', flush=True)\nsys.exit(3)\n")
    started = time.monotonic()
    deploy(prisnd, f, "crashy", port, 1)
    prisnd.wait_phase("crashy", "CrashLoop", timeout=10)
    d = prisnd.deployment("crashy")
    assert d["status"]["message"], d["status"]
    assert d["status"]["ready_replicas"] == 0
    # while it backs off, endpoints still list the instance, with its state (SPEC §4)
    def backing_off():
        eps = prisnd.endpoints("crashy")
        return eps and eps[0]["state"] == "BackOff" and eps
    eps = wait_until(backing_off, 5, interval=0.02, message="crashy-0 listed in BackOff")
    assert eps[0]["instance"] == "crashy-0" and eps[0]["healthy"] is False and eps[0]["pid"] is None, eps
    assert "crashy-0 exited" in eps[0]["last_exit"] and eps[0]["restart_in_s"] is not None, eps
    # the time each restart is counted: the gaps grow (1 s then 2 s of backoff, plus start-up)
    seen_at = {}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        n = prisnd.deployment("crashy")["status"]["restarts"]
        seen_at.setdefault(n, time.monotonic())
        if n >= 3:
            break
        time.sleep(0.05)
    assert {1, 2, 3} <= set(seen_at), f"restarts did not grow to 3: {seen_at}"
    first_gap, second_gap = seen_at[2] - seen_at[1], seen_at[3] - seen_at[2]
    assert first_gap >= 0.8, (first_gap, second_gap)
    assert second_gap >= first_gap + 0.5, (first_gap, second_gap)
    # 1 s, 2 s, 4 s: by ~4.5 s after the deploy there were at most 3-4 exits, not dozens
    time.sleep(max(0.0, 4.5 - (time.monotonic() - started)))
    restarts = prisnd.deployment("crashy")["status"]["restarts"]
    assert 2 <= restarts <= 4, restarts
    st = prisnd.deployment("crashy")["status"]
    assert st["phase"] in ("CrashLoop", "Pending"), st
    p = prisnd.cli("get", "apps")
    assert "CrashLoop" in p.stdout or "Pending" in p.stdout


def test_restarts_count_the_restarts_that_happened(prisnd, scripts, tmp_path):
    """While an instance backs off, its restart is not counted yet: the count is the number of
    starts the workload itself saw, less the first."""
    starts = tmp_path / "starts"
    crash = "import os, sys\nopen(os.environ['STARTS'], 'a').write('x')\nsys.exit(3)\n"
    deploy(prisnd, scripts("counted.py", crash), "counted", free_port(), 1, "-e", f"STARTS={starts}")

    def backing_off_after(n):
        eps = prisnd.endpoints("counted")
        ok = eps and eps[0]["state"] == "BackOff" and (eps[0]["restart_in_s"] or 0) >= 1
        return ok and starts.exists() and len(starts.read_text()) == n and eps
    for n in (1, 2, 3):
        eps = wait_until(lambda: backing_off_after(n), 15, interval=0.02, message=f"back-off after start {n}")
        assert eps[0]["restarts"] == n - 1, (n, eps)
        assert prisnd.deployment("counted")["status"]["restarts"] == n - 1


def test_the_backoff_resets_after_healthy_uptime_not_uptime(prisnd, scripts):
    """SPEC §6.4: reset after 10 s of *healthy* uptime. An instance that starts slowly (over
    10 s up) and dies soon after turning healthy still backs off: 1 s, then 2 s."""
    slow = ("import os, socket, sys, time\ntime.sleep(10.5)\ns = socket.socket()\n"
            "s.bind(('127.0.0.1', int(os.environ['PORT'])))\ns.listen()\ntime.sleep(1.5)\nsys.exit(2)\n")
    r = prisnd.post("/api/v1/deployments", {"name": "slow", "filename": "slow.py", "source": slow, "port": free_port(),
                                            "healthCheck": {"tcp": {}, "interval": "1s"}})
    assert r.status_code == 201, r.text
    delays = lambda: re.findall(r"slow-0 exited \(exit code 2\); restarting in (\d+)s", prisnd.read_log())
    wait_until(lambda: len(delays()) >= 2, 40, interval=0.5, message="two exits")
    assert delays()[:2] == ["1", "2"], delays()
    assert prisnd.read_log().count("instance default/slow-0 is healthy") >= 2


def test_a_changed_spec_replaces_a_crash_looping_instance_at_once(prisnd, scripts):
    """The fix of a crash-looping service runs as soon as it is deployed, not when the broken
    spec's backoff ends; its restart count starts again."""
    port = free_port()
    deploy(prisnd, scripts("cl.py", "import sys\nsys.exit(3)\n"), "cl", port, 1)
    wait_until(lambda: prisnd.deployment("cl")["status"]["restarts"] >= 4, 20, interval=0.1,
               message="four restarts (the next backoff is 8 s or more)")
    deployed = time.monotonic()
    deploy(prisnd, scripts("cl.py", HTTP_SERVICE), "cl", port, 1)
    prisnd.wait_phase("cl", "Running", timeout=6)
    assert time.monotonic() - deployed < 6
    assert prisnd.deployment("cl")["status"]["restarts"] == 0
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200


# --- logs ----------------------------------------------------------------------------------
def test_a_deployment_made_again_under_a_deleted_ones_name_starts_with_empty_logs(prisnd, scripts):
    f = scripts("talk.py", "import os, time\nprint('incarnation', os.environ['GEN'], flush=True)\ntime.sleep(600)\n")
    for gen in ("one", "two"):
        prisnd.cli("deploy", f, "--name", "talk", "--replicas", "2" if gen == "one" else "1", "-e", f"GEN={gen}",
                   check=True)
        prisnd.wait_ready("talk", 2 if gen == "one" else 1)
        wait_until(lambda: f"incarnation {gen}" in prisnd.cli("logs", "talk").stdout, 10, message="its output")
        if gen == "one":
            prisnd.cli("delete", "talk", check=True)
            wait_until(lambda: prisnd.get("/api/v1/endpoints/talk").status_code == 404, 15, message="deleted")
    logs = prisnd.cli("logs", "talk").stdout
    assert "incarnation one" not in logs and "[talk-1]" not in logs, logs
    assert logs == "[talk-0] incarnation two\n", logs


def test_logs_prefixed_tail_and_follow(prisnd, scripts):
    port = free_port()
    deploy(prisnd, scripts("api.py", HTTP_SERVICE), "api", port, 2)
    prisnd.wait_ready("api", 2)
    answers(port, 4)  # each request logs "request /" in the instance that served it

    def both_prefixes(text):
        return "[api-0] listening on" in text and "[api-1] listening on" in text
    wait_until(lambda: both_prefixes(prisnd.get("/api/v1/deployments/api/logs").text), 10,
               message="both instances in the logs")
    r = prisnd.get("/api/v1/deployments/api/logs")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    for line in r.text.splitlines():
        assert line.startswith("[api-0] ") or line.startswith("[api-1] "), line

    p = prisnd.cli("logs", "api")
    assert p.returncode == 0, p.stderr
    assert both_prefixes(p.stdout)

    p = prisnd.cli("logs", "api", "--tail", "2")
    assert p.returncode == 0, p.stderr
    assert len(p.stdout.splitlines()) == 2, p.stdout
    r = prisnd.get("/api/v1/deployments/api/logs?tail=2")
    assert len(r.text.splitlines()) == 2, r.text

    # follow: new lines arrive on an open stream
    with prisnd.get("/api/v1/deployments/api/logs?follow=true", stream=True, timeout=(5, 10)) as r:
        assert r.status_code == 200
        fetch(port, "/follow-marker-1")
        got = b""
        deadline = time.monotonic() + 10
        for chunk in r.iter_content(None):
            got += chunk
            if b"/follow-marker-1" in got or len(got) > 1_000_000 or time.monotonic() > deadline:
                break
    assert b"request /follow-marker-1" in got, got[-2000:]
    line = [l for l in got.decode().splitlines() if "follow-marker-1" in l][0]
    assert line.startswith("[api-0] ") or line.startswith("[api-1] ")


def test_logs_of_one_instance(prisnd, scripts):
    """?instance=NAME-i (and `prisn logs NAME-i`, as kubectl logs POD) reads one instance's log."""
    port = free_port()
    deploy(prisnd, scripts("api.py", HTTP_SERVICE), "api", port, 2)
    prisnd.wait_ready("api", 2)
    for instance in ("api-0", "api-1"):
        text = wait_until(lambda: (lambda t: t if "listening on" in t else None)(
            prisnd.get(f"/api/v1/deployments/api/logs?instance={instance}").text), 10, message=instance)
        assert all(line.startswith(f"[{instance}] ") for line in text.splitlines()), text
        p = prisnd.cli("logs", instance, "--tail", "1")
        assert p.returncode == 0 and p.stdout.startswith(f"[{instance}] "), (p.stdout, p.stderr)
    with prisnd.get("/api/v1/deployments/api/logs?instance=api-1&follow=true", stream=True, timeout=(5, 10)) as r:
        assert r.status_code == 200
        first = next(r.iter_content(None))
        assert first.startswith(b"[api-1] ") and b"[api-0]" not in first, first
    r = prisnd.get("/api/v1/deployments/api/logs?instance=api-7")
    assert r.status_code == 404 and "instance 'api-7' of deployment 'api' has no log" in r.text, r.text
    assert prisnd.get("/api/v1/deployments/api/logs?instance=").status_code == 422
    prisnd.post("/api/v1/deployments", {"name": "job", "source": "print(1)", "filename": "job.py"})
    r = prisnd.get("/api/v1/deployments/job/logs?instance=job-0")
    assert r.status_code == 422 and "job deployment" in r.text, r.text
    p = prisnd.cli("logs", "api-9")
    assert p.returncode == 1 and "deployment 'api-9' not found" in p.stderr, p.stderr


COUNTER = """import time
n = 0
deadline = time.monotonic() + 40
while time.monotonic() < deadline:
    for _ in range(20):
        print(n, flush=True)
        n += 1
    time.sleep(0.001)
time.sleep(3600)
"""


def test_follow_sends_every_line_written_while_it_attaches(prisnd, scripts):
    # A service writing thousands of numbered lines a second: a followed log that starts with
    # its tail must go on from exactly where the tail ended, each time it attaches.
    prisnd.cli("deploy", scripts("count.py", COUNTER), "--name", "count", "--replicas", "1", check=True)
    wait_until(lambda: prisnd.get("/api/v1/deployments/count/logs?tail=1").text.strip(), 15, message="output")
    for attempt in range(6):
        got = b""
        with prisnd.get("/api/v1/deployments/count/logs?follow=true&tail=3", stream=True, timeout=(5, 10)) as r:
            assert r.status_code == 200
            deadline = time.monotonic() + 10
            for chunk in r.iter_content(None):
                got += chunk
                if got.count(b"\n") > 3000 or time.monotonic() > deadline:
                    break
        lines = got.decode().split("\n")[:-1]  # the last may be cut by the read
        assert len(lines) > 1000, f"attempt {attempt}: {len(lines)} lines"
        numbers = [int(l.removeprefix("[count-0] ")) for l in lines]
        first = numbers[0]
        assert numbers == list(range(first, first + len(numbers))), \
            f"attempt {attempt}: a gap or a repeat after {[a for a, b in zip(numbers, numbers[1:]) if b != a + 1][:3]}"


def follow_from_two_seconds_ahead(prisnd, logs_path):
    """Follows `logs_path` with a since 2 s ahead: the first 1000-odd bytes, and whether the
    first of them came before since (give or take the scan's resolution)."""
    since = time.time() + 2
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(since)) + f".{int(since % 1 * 1000):03d}Z"
    got = b""
    with prisnd.get(f"{logs_path}?follow=true&since={stamp}", stream=True, timeout=(5, 10)) as r:
        assert r.status_code == 200
        for chunk in r.iter_content(None):
            if not got:
                first_at = time.time()
            got += chunk
            if len(got) > 1000:
                break
    assert first_at >= since - 0.3, f"a line came {since - first_at:.2f} s before since"
    return got


def test_a_followed_log_with_a_since_still_to_come_starts_there(prisnd, scripts):
    """`logs?follow=true&since=T` with T ahead: nothing from before T, as without follow."""
    prisnd.cli("deploy", scripts("count.py", COUNTER), "--name", "later", "--replicas", "1", check=True)
    wait_until(lambda: prisnd.get("/api/v1/deployments/later/logs?tail=1").text.strip(), 15, message="output")
    follow_from_two_seconds_ahead(prisnd, "/api/v1/deployments/later/logs")


def test_a_followed_run_with_a_since_still_to_come_starts_there(prisnd, scripts):
    """The same for one run's log: nothing from before T comes, and what comes is whole lines."""
    r = prisnd.post("/api/v1/executions", {"source": COUNTER, "runtime": "python3"})
    assert r.status_code == 201, r.text
    run = r.json()["id"]
    try:
        wait_until(lambda: prisnd.get(f"/api/v1/executions/{run}/logs").text.count("\n") > 100, 15,
                   message="output")
        got = follow_from_two_seconds_ahead(prisnd, f"/api/v1/executions/{run}/logs")
        numbers = [int(line) for line in got.decode().split("\n")[:-1]]  # the last may be cut by the read
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), "a cut or repeated line"
    finally:
        prisnd.post(f"/api/v1/executions/{run}/cancel")


UNFINISHED_THEN_EXIT = """import sys, time
print("first", flush=True)
sys.stdout.write("no newline")
sys.stdout.flush()
time.sleep(0.5)
sys.exit(3)
"""


def test_a_restarted_instance_starts_its_output_on_a_line_of_its_own(prisnd, scripts):
    """An instance that dies mid-line: the next process's first line is not run into it."""
    prisnd.cli("deploy", scripts("cut.py", UNFINISHED_THEN_EXIT), "--name", "cut", "--replicas", "1", check=True)
    wait_until(lambda: prisnd.get("/api/v1/deployments/cut/logs").text.count("[cut-0] first") >= 2, 20,
               message="a restart's output")
    lines = prisnd.get("/api/v1/deployments/cut/logs").text.splitlines()
    assert lines[:3] == ["[cut-0] first", "[cut-0] no newline", "[cut-0] first"], lines


TICKS = """import time
for n in range(40):
    print(f"{time.time():.6f} {n}", flush=True)
    time.sleep(0.03)
time.sleep(3600)
"""


def test_logs_of_instances_merge_in_the_order_they_were_written(prisnd, scripts):
    # SPEC §4: "a service's instances merged in time order". Two instances print their clock
    # every 30 ms. Merged, the clocks rise, give or take a few ms (a line is dated when prisn
    # sees it), and the output alternates between the instances rather than coming in blocks.
    assert prisnd.cli("deploy", scripts("ticks.py", TICKS), "--name", "ticks", "--replicas", "2").returncode == 0

    def merged():
        text = prisnd.get("/api/v1/deployments/ticks/logs").text
        return [(l.split(" ")[0], float(l.split(" ")[1])) for l in text.splitlines() if l.count(" ") == 2]
    wait_until(lambda: sum(1 for src, _ in merged() if src == "[ticks-0]") == 40 and
               sum(1 for src, _ in merged() if src == "[ticks-1]") == 40, 20, message="all ticks logged")
    lines = merged()
    latest = 0.0
    for src, t in lines:
        assert t >= latest - 0.05, (src, t, latest, lines)
        latest = max(latest, t)
    switches = sum(1 for a, b in zip(lines, lines[1:]) if a[0] != b[0])
    assert switches >= 40, (switches, lines)


# --- rolling updates -----------------------------------------------------------------------
def test_rolling_update_by_redeploy_has_no_failed_requests(prisnd, scripts):
    port = free_port()
    f = scripts("api.py", HTTP_SERVICE)
    deploy(prisnd, f, "api", port, 2, "-e", "VERSION=v1")
    prisnd.wait_ready("api", 2)
    old_gen = prisnd.deployment("api")["generation"]
    old_pids = set(prisnd.instance_pids("api"))
    assert all(a.endswith(" v1") for a in answers(port, 4))

    with Load(port) as load:
        wait_until(lambda: len(load.ok) >= 5, 10, message="load to start")
        p = deploy(prisnd, f, "api", port, 2, "-e", "VERSION=v2")
        assert "updated" in p.stdout

        def rolled():
            eps = prisnd.endpoints("api")
            return (len(eps) == 2 and all(ep["generation"] > old_gen and ep["healthy"] for ep in eps)
                    and not set(ep["pid"] for ep in eps) & old_pids)
        wait_until(rolled, 30, message="every instance on the new generation")
        wait_until(lambda: all(a.endswith(" v2") for a in answers(port, 4)), 10, message="v2 answers")
        count = len(load.ok)
        wait_until(lambda: len(load.ok) >= count + 5, 10, message="more requests after the rollout")
    assert load.failures == [], f"{len(load.failures)} failed of {len(load.ok) + len(load.failures)}: {load.failures[:5]}"
    assert load.seen(lambda a: a.endswith(" v1")) and load.seen(lambda a: a.endswith(" v2"))
    wait_until(lambda: not any(pid_alive(p) for p in old_pids), 15, message="old instances to exit")
    assert prisnd.deployment("api")["env"]["VERSION"] == "v2"


def test_rolling_restart_has_no_failed_requests(prisnd, scripts):
    port = free_port()
    deploy(prisnd, scripts("api.py", HTTP_SERVICE), "api", port, 2)
    prisnd.wait_ready("api", 2)
    old_pids = set(prisnd.instance_pids("api"))

    with Load(port) as load:
        wait_until(lambda: len(load.ok) >= 5, 10, message="load to start")
        p = prisnd.cli("restart", "api")
        assert p.returncode == 0, p.stderr
        wait_rolled(prisnd, "api", 2, old_pids)
        prisnd.wait_ready("api", 2)
        count = len(load.ok)
        wait_until(lambda: len(load.ok) >= count + 5, 10, message="more requests after the restart")
    assert load.failures == [], f"{len(load.failures)} failed of {len(load.ok) + len(load.failures)}: {load.failures[:5]}"
    wait_until(lambda: not any(pid_alive(p) for p in old_pids), 15, message="old instances to exit")
    assert {a.split()[0] for a in answers(port, 6)} == {"api-0", "api-1"}


def test_a_service_without_port_or_check_rolls_to_the_end(prisnd):
    # Each instance is ready once it runs: the rollout must not wait for a check that never comes.
    body = {"name": "worker", "filename": "worker.sh", "source": "sleep 1000\n", "replicas": 2}
    assert prisnd.post("/api/v1/deployments", body).status_code == 201
    prisnd.wait_ready("worker", 2)
    for change in ("restart", "put"):
        old_pids = set(prisnd.instance_pids("worker"))
        if change == "restart":
            assert prisnd.post("/api/v1/deployments/worker/restart").status_code == 200
        else:
            assert prisnd.put("/api/v1/deployments/worker", dict(body, env={"X": "2"})).status_code == 200
        wait_rolled(prisnd, "worker", 2, old_pids)
        wait_until(lambda: not any(pid_alive(p) for p in old_pids), 15, message="old instances to exit")


def test_put_rolls_on_spec_change_but_not_on_replicas_only(prisnd, scripts):
    port = free_port()
    deploy(prisnd, scripts("api.py", HTTP_SERVICE), "api", port, 2, "-e", "VERSION=v1")
    prisnd.wait_ready("api", 2)
    spec = prisnd.get("/api/v1/deployments/api?include=source").json()
    assert "source" in spec and "listening on" in spec["source"]
    body = {"name": "api", "source": spec["source"], "filename": "api.py", "port": port,
            "replicas": 3, "env": {"VERSION": "v1"}}

    # only replicas changed: the existing instances keep running
    before = pids_by_instance(prisnd, "api")
    r = prisnd.put("/api/v1/deployments/api", body)
    assert r.status_code == 200, r.text
    prisnd.wait_ready("api", 3)
    after = pids_by_instance(prisnd, "api")
    assert after["api-0"] == before["api-0"] and after["api-1"] == before["api-1"]
    assert sorted(after) == ["api-0", "api-1", "api-2"]

    # a changed env rolls every instance
    body["env"] = {"VERSION": "v2"}
    r = prisnd.put("/api/v1/deployments/api", body)
    assert r.status_code == 200, r.text

    def rolled():
        eps = prisnd.endpoints("api")
        return len(eps) == 3 and all(ep["healthy"] for ep in eps) and not set(ep["pid"] for ep in eps) & set(after.values())
    wait_until(rolled, 40, message="every instance rolled")
    wait_until(lambda: all(a.endswith(" v2") for a in answers(port, 6)), 10, message="v2 answers")
    assert prisnd.deployment("api")["env"] == {"VERSION": "v2"}


# --- delete --------------------------------------------------------------------------------
def test_delete_stops_instances_closes_port_and_keeps_history(prisnd, scripts, tmp_path):
    port = free_port()
    term_marker = tmp_path / "terms"
    deploy(prisnd, scripts("api.py", GRACEFUL_SERVICE), "api", port, 2, "-e", f"TERM_MARKER={term_marker}")
    job = prisnd.cli("deploy", scripts("job.sh", "echo job ran\n"), "--name", "once")
    assert job.returncode == 0, job.stderr
    prisnd.wait_ready("api", 2)
    pids = prisnd.instance_pids("api")
    assert fetch(port).startswith("api-")
    exec_id = prisnd.post("/api/v1/executions", {"deployment_id": "once"}).json()["id"]
    assert prisnd.wait_execution(exec_id)["status"] == "Completed"

    r = prisnd.delete("/api/v1/deployments/api")
    assert r.status_code in (200, 202, 204), r.text
    assert prisnd.get("/api/v1/deployments/api").status_code == 404
    assert prisnd.get("/api/v1/endpoints/api").status_code == 404
    wait_until(lambda: not any(pid_alive(p) for p in pids), 15, message="instances to exit")
    # gracefully: each instance got SIGTERM (its handler ran) rather than a bare SIGKILL
    assert sorted(term_marker.read_text().splitlines()) == ["term api-0", "term api-1"]
    wait_until(lambda: port_closed(port), 10, message="published port to close")
    names = [d["name"] for d in prisnd.get("/api/v1/deployments").json()["items"]]
    assert "api" not in names and "once" in names

    p = prisnd.cli("delete", "once")
    assert p.returncode == 0, p.stderr
    assert prisnd.get("/api/v1/deployments/once").status_code == 404
    e = prisnd.get(f"/api/v1/executions/{exec_id}")
    assert e.status_code == 200 and e.json()["status"] == "Completed"
    items = prisnd.get("/api/v1/executions?deployment=once").json()["items"]
    assert [x["id"] for x in items] == [exec_id]
    assert prisnd.get(f"/api/v1/executions/{exec_id}/logs").text == "job ran\n"

    # the name is free again, and so is the port
    deploy(prisnd, scripts("api.py", HTTP_SERVICE), "api", port, 1)
    prisnd.wait_ready("api", 1)
    assert fetch(port).startswith("api-0")


# --- multi-service systems (the seed's examples) -------------------------------------------
WEBHOOK_RECEIVER = """\
# webhook-receiver.py
import os
import requests
from http.server import HTTPServer, BaseHTTPRequestHandler

QUEUE_SERVICE = os.environ.get('QUEUE_SERVICE', 'http://localhost:8081')

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        # Receive webhook, forward to queue
        data = self.rfile.read(int(self.headers['Content-Length']))
        requests.post(f"{QUEUE_SERVICE}/enqueue", data=data)
        self.send_response(202)
        self.end_headers()

HTTPServer(('', int(os.environ['PORT'])), Handler).serve_forever()
"""

QUEUE_WORKER = """\
# queue-worker.py
import json, os, threading
from http.server import HTTPServer, BaseHTTPRequestHandler

items = []
lock = threading.Lock()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def reply(self, code, body=b""):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        data = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        if self.path != "/enqueue":
            return self.reply(404)
        with lock:
            items.append(data.decode())
        print("enqueued", data.decode(), "db", os.environ.get("DATABASE_URL"), flush=True)
        self.reply(200)
    def do_GET(self):
        with lock:
            body = json.dumps({"count": len(items), "items": items}).encode()
        self.reply(200, body)
    def log_message(self, fmt, *args):
        pass

HTTPServer(('', int(os.environ['PORT'])), Handler).serve_forever()
"""


def test_webhook_receiver_forwards_to_queue_worker(prisnd, scripts):
    api_port, worker_port = free_port(), free_port()
    assert api_port != worker_port
    worker = scripts("queue-worker.py", QUEUE_WORKER)
    receiver = scripts("webhook-receiver.py", WEBHOOK_RECEIVER)
    p = prisnd.cli("deploy", worker, "--port", str(worker_port), "--name", "queue-worker",
                   "-e", "DATABASE_URL=postgres://example")
    assert p.returncode == 0, p.stderr
    p = prisnd.cli("deploy", receiver, "--port", str(api_port), "--name", "webhook-api",
                   "-e", f"QUEUE_SERVICE=http://localhost:{worker_port}")
    assert p.returncode == 0, p.stderr
    prisnd.wait_ready("queue-worker", 1)
    prisnd.wait_ready("webhook-api", 1)
    assert prisnd.deployment("webhook-api")["type"] == "service"

    for i in range(3):
        r = requests.post(f"http://127.0.0.1:{api_port}/hook", data=f'{{"event": {i}}}', timeout=10)
        assert r.status_code == 202, r.text
    state = requests.get(f"http://127.0.0.1:{worker_port}/count", timeout=5).json()
    assert state["count"] == 3
    assert state["items"] == ['{"event": 0}', '{"event": 1}', '{"event": 2}']
    logs = prisnd.get("/api/v1/deployments/queue-worker/logs").text
    assert '[queue-worker-0] enqueued {"event": 0} db postgres://example' in logs


DISCOVERY_CLIENT = """\
import json, os
import urllib.request
from http.server import HTTPServer, BaseHTTPRequestHandler

PRISN_API = os.environ["PRISN_API"]

def get_service_port(name):
    with urllib.request.urlopen(f"{PRISN_API}/api/v1/deployments/{name}", timeout=5) as resp:
        return json.load(resp)["port"]

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        target = self.path.strip("/")
        port = get_service_port(target)
        with urllib.request.urlopen(f"http://localhost:{port}/", timeout=5) as resp:
            answer = resp.read().decode().strip()
        body = json.dumps({"port": port, "answer": answer}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, fmt, *args):
        pass

HTTPServer(('', int(os.environ['PORT'])), Handler).serve_forever()
"""


def test_service_discovers_another_through_prisn_api(prisnd, scripts):
    backend_port, client_port = free_port(), free_port()
    deploy(prisnd, scripts("backend.py", HTTP_SERVICE), "backend", backend_port, 2)
    deploy(prisnd, scripts("client.py", DISCOVERY_CLIENT), "client", client_port, 1)
    prisnd.wait_ready("backend", 2)
    prisnd.wait_ready("client", 1)
    seen = set()
    for _ in range(4):
        r = requests.get(f"http://127.0.0.1:{client_port}/backend", timeout=10)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["port"] == backend_port
        seen.add(body["answer"].split()[0])
    assert seen == {"backend-0", "backend-1"}


# --- logs across a rolling restart, and the size cap ---------------------------------------
def test_logs_after_a_rolling_restart_keep_the_order_of_requests(prisnd, scripts):
    port = free_port()
    deploy(prisnd, scripts("api.py", HTTP_SERVICE), "api", port, 2)
    prisnd.wait_ready("api", 2)
    answers(port, 4, "/before")
    old_pids = set(prisnd.instance_pids("api"))
    p = prisnd.cli("restart", "api")
    assert p.returncode == 0, p.stderr
    wait_rolled(prisnd, "api", 2, old_pids)
    prisnd.wait_ready("api", 2)

    # Requests far enough apart (150 ms) that their log lines have a meaningful order; the
    # published port alternates between the instances, so the lines interleave.
    served = []
    for i in range(8):
        served.append(fetch(port, f"/after-{i}").split()[0])
        time.sleep(0.15)
    assert set(served) == {"api-0", "api-1"}, served
    expected = [f"[{inst}] request /after-{i}" for i, inst in enumerate(served)]

    def logged():
        lines = [l for l in prisnd.get("/api/v1/deployments/api/logs").text.splitlines() if "request /after-" in l]
        return lines if len(lines) >= len(expected) else None
    assert wait_until(logged, 10, message="every request in the logs") == expected
    tail = prisnd.get("/api/v1/deployments/api/logs?tail=4").text.splitlines()
    assert tail == expected[-4:], tail


CHATTY_SERVICE = """\
import sys, time
for i in range(20000):
    sys.stdout.write(f"filler line {i}\\n")
print("filler done", flush=True)
time.sleep(3600)
"""
CHATTY_BYTES = sum(len(f"filler line {i}\n") for i in range(20000)) + len("filler done\n")  # ~340 KB


def capped_daemon(daemon_factory, scripts, tmp_path, replicas):
    """A prisnd whose logs are capped at 64 KiB, running `chatty` once each instance wrote it all."""
    config = tmp_path / "config.yaml"
    config.write_text("supervisor:\n  logMaxBytes: 65536\n")
    d = daemon_factory(extra_args=["--config", str(config)])
    # --replicas makes it a service even without a port (without either it would be a job)
    p = d.cli("deploy", scripts("chatty.py", CHATTY_SERVICE), "--name", "chatty", "--replicas", str(replicas))
    assert p.returncode == 0, p.stderr

    def own_lines(text, i):
        prefix = f"[chatty-{i}] "
        return [l.removeprefix(prefix) for l in text.splitlines() if l.startswith(prefix)]

    # The cap is applied by a sweep every 250 ms: a burst may exceed it until the next one.
    def all_written_and_capped():
        text = d.get("/api/v1/deployments/chatty/logs").text
        for i in range(replicas):
            own = own_lines(text, i)
            if not own or own[-1] != "filler done" or sum(len(l) + 1 for l in own[1:]) > 65536:
                return None
        return text
    text = wait_until(all_written_and_capped, 20, message="every instance's whole output written, within the cap")
    return d, text, {i: own_lines(text, i) for i in range(replicas)}


def test_a_capped_service_log_starts_with_the_instances_drop_marker(daemon_factory, scripts, tmp_path):
    _, text, _ = capped_daemon(daemon_factory, scripts, tmp_path, 1)
    first, _, rest = text.partition("\n")
    m = re.fullmatch(r"\[chatty-0\] \[prisn\] (\d+) bytes of earlier output were dropped \(log size limit\)", first)
    assert m, text[:300]
    kept = [l.removeprefix("[chatty-0] ") for l in rest.splitlines()]
    assert kept[-2:] == ["filler line 19999", "filler done"], kept[-3:]
    assert int(m.group(1)) + sum(len(l) + 1 for l in kept) == CHATTY_BYTES  # the marker counts what is not shown


def test_a_capped_service_log_keeps_the_newest_lines_whole_and_without_a_gap(daemon_factory, scripts, tmp_path):
    # Three instances, each with its own log, make a rotation that keeps a piece of an older
    # backup (a mid-line fragment, before a gap) likely to show in at least one of them.
    _, _, by_instance = capped_daemon(daemon_factory, scripts, tmp_path, 3)
    for i, own in by_instance.items():
        assert "bytes of earlier output were dropped" in own[0], own[:2]
        assert own[-1] == "filler done", own[-2:]
        numbers = [int(l.removeprefix("filler line ")) if re.fullmatch(r"filler line \d+", l) else l for l in own[1:-1]]
        assert numbers == list(range(20000 - len(numbers), 20000)), (
            f"chatty-{i}'s kept output is not the newest lines, whole and in order: {own[1:3]}")


def test_an_exec_check_runs_with_the_instance_environment(prisnd):
    """SPEC §7.3: exec checks run with the instance's environment: prisn's variables (PRISN_API,
    PORT and PORT_NAME included), its env and its working directory."""
    port = free_port()
    script = ('test -n "$PRISN_API" && test "$PRISN_INSTANCE" = envcheck-0 && test "$PORT_HTTP" = "$PORT" '
              '&& test "$PWD" = "$(pwd -P)" && test "$GREETING" = hi')
    body = {"name": "envcheck", "source": HTTP_SERVICE, "filename": "svc.py", "port": port, "env": {"GREETING": "hi"},
            "healthCheck": {"exec": {"command": ["sh", "-c", script]}, "interval": "1s"}}
    assert prisnd.put("/api/v1/deployments/envcheck", body).status_code in (200, 201)
    prisnd.wait_ready("envcheck", 1)


def probe_pids(marker):
    """The pids of processes whose command line holds `marker`."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker.encode() in f.read().replace(b"\0", b" "):
                        out.append(int(entry))
            except OSError:
                pass
    return out


def test_an_exec_check_under_way_ends_with_its_deployment_and_with_prisnd(daemon_factory):
    """A slow exec check is killed, process group and all, when its deployment goes and when
    prisnd stops; when prisnd is killed, the check's own process is (its children, if it has
    any, are not: nothing is left to kill them)."""
    d = daemon_factory()
    for round, ending in enumerate(("delete", "sigterm", "kill9")):
        marker = f"97.{round}{os.getpid() % 1000}"
        command = ["sleep", marker] if ending == "kill9" else ["sh", "-c", f"sleep {marker}; true"]
        body = {"name": f"slowcheck{round}", "source": HTTP_SERVICE, "filename": "svc.py", "port": free_port(),
                "healthCheck": {"exec": {"command": command}, "interval": "1s", "timeout": "60s"}}
        assert d.put(f"/api/v1/deployments/slowcheck{round}", body).status_code in (200, 201)
        wait_until(lambda: probe_pids(f"sleep {marker}"), 15, message="the check running")
        if ending == "delete":
            assert d.delete(f"/api/v1/deployments/slowcheck{round}").status_code == 200
        elif ending == "sigterm":
            d.stop()
        else:
            d.kill9()
        wait_until(lambda: not probe_pids(f"sleep {marker}"), 10, message=f"the check gone after {ending}")
        if d.proc is None or d.proc.poll() is not None:
            d.start()
        d.delete(f"/api/v1/deployments/slowcheck{round}")  # before the next round's kill -9
        wait_until(lambda: not probe_pids(f"sleep {marker}"), 10, message="the check gone with its deployment")


FAILING_HEALTH = """\
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(500 if self.path == "/health" else 200)
        self.end_headers()
    def log_message(self, *a):
        pass

HTTPServer(("", int(os.environ["PORT"])), H).serve_forever()
"""


def test_a_check_that_never_passes_says_why(prisnd):
    body = {"name": "sick", "source": FAILING_HEALTH, "filename": "sick.py", "port": free_port(),
            "healthCheck": {"http": {"path": "/health"}, "interval": "1s"}}
    assert prisnd.put("/api/v1/deployments/sick", body).status_code in (200, 201)
    want = "waiting for a passing health check: sick-0: GET /health: status 500, expected 2xx"
    status = wait_until(lambda: (lambda s: s if s["message"] == want else None)(prisnd.deployment("sick")["status"]),
                        15, message="the reason in the status")
    assert status["phase"] == "Pending" and status["ready_replicas"] == 0, status


def test_timing_fields_alone_tune_the_default_tcp_check(prisnd):
    """SPEC §7.3: TCP is the default check for a service with a port; {"interval": "1s"} tunes it."""
    body = {"name": "tuned", "source": FAILING_HEALTH, "filename": "tuned.py", "port": free_port(),
            "healthCheck": {"interval": "1s", "failureThreshold": 2}}
    r = prisnd.post("/api/v1/deployments", body)
    assert r.status_code == 201, r.text
    check = prisnd.deployment("tuned")["healthCheck"]
    assert "tcp" in check and check["interval"] == "1s" and check["failureThreshold"] == 2, check
    prisnd.wait_ready("tuned", 1)  # the TCP check passes where /health would not


def test_env_may_not_set_the_port_prisn_gives_each_instance(prisnd, scripts):
    """-e PORT=8080 beside --port 8080 made every instance crash-loop in host mode (the node's
    port is prisn's own): a 422 that says why, not a service that never comes up."""
    port = free_port()
    p = prisnd.cli("deploy", scripts("web.py", HTTP_SERVICE), "--name", "web", "--port", str(port), "-e", f"PORT={port}")
    assert p.returncode == 1 and "env.PORT: set by prisn to the port each instance must listen on" in p.stderr, p.stderr
    assert prisnd.get("/api/v1/deployments/web").status_code == 404
    p = prisnd.cli("run", scripts("env.py", "import os; print(os.environ['PORT'])"), "-e", "PORT=5432")
    assert p.returncode == 0 and p.stdout == "5432\n", (p.stdout, p.stderr)  # a run has no port of prisn's


HEALTH_BY_ENV = FAILING_HEALTH.replace('500 if self.path == "/health" else 200',
                                       '500 if self.path == "/health" and os.environ.get("BAD") else 200')
assert HEALTH_BY_ENV != FAILING_HEALTH


def test_a_roll_held_up_by_a_failing_check_says_why(prisnd):
    """The old instance serves while the new one never passes: Running, and the message says
    what the roll waits for (it said nothing, with the spec a generation ahead)."""
    body = {"name": "stall", "source": HEALTH_BY_ENV, "filename": "stall.py", "port": free_port(),
            "healthCheck": {"http": {"path": "/health"}, "interval": "1s"}}
    assert prisnd.put("/api/v1/deployments/stall", body).status_code in (200, 201)
    prisnd.wait_ready("stall", 1)
    assert prisnd.put("/api/v1/deployments/stall", dict(body, env={"BAD": "1"})).status_code == 200
    want = "waiting for a passing health check: stall-0: GET /health: status 500, expected 2xx"
    status = wait_until(lambda: (lambda s: s if s["message"] == want else None)(prisnd.deployment("stall")["status"]),
                        15, message="the reason in the status")
    assert status["phase"] == "Running" and status["ready_replicas"] == 1, status
