# SPDX-License-Identifier: MIT
"""The prisn CLI (SPEC §5): exit statuses, server address, default names, tables and output
formats, status/delete/logs/trigger, namespaces, watch, --port auto and re-deploys."""
import json
import os
import queue
import re
import socket
import subprocess
import threading
import time

import pytest
import requests
import yaml

from conftest import HTTP_SERVICE, PRISN, free_port, wait_until

JOB_SRC = "import os, sys\nprint('job', os.environ.get('K', '-'))\nsys.exit(int(os.environ.get('CODE', '0')))\n"


# --- helpers ---------------------------------------------------------------------------------

def table(text):
    """Parses a table: returns (header columns, rows as lists of cells), checking alignment."""
    lines = [l for l in text.splitlines() if l.strip()]
    assert lines, "empty table"
    header = lines[0]
    cols = [(m.start(), m.group()) for m in re.finditer(r"\S+(?: \S+)*", header)]
    assert cols and cols[0][0] == 0, header
    for a, b in zip(cols, cols[1:]):
        assert b[0] - (a[0] + len(a[1])) >= 2, f"columns too close in header: {header!r}"
    rows = []
    for line in lines[1:]:
        cells = []
        for i, (start, _) in enumerate(cols):
            end = cols[i + 1][0] if i + 1 < len(cols) else len(line)
            if start >= len(line):
                assert all(c[0] >= len(line) for c in cols[i:]), f"row ends mid-table: {line!r}\n{text}"
                cells.append("")
                continue
            if start > 0:
                assert line[start - 1] == " " and line[start] != " ", \
                    f"column {cols[i][1]!r} not aligned in {line!r}\n{text}"
            cells.append(line[start:end].strip())
        rows.append(cells)
    return [c[1] for c in cols], rows


def column(text, name):
    header, rows = table(text)
    assert name in header, header
    i = header.index(name)
    return [r[i] for r in rows]


def deploy_job(d, scripts, name, src=JOB_SRC, *extra):
    f = scripts(f"{name}.py", src)
    d.cli("deploy", f, "--name", name, *extra, check=True)
    return f


def port_open(port):
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def deploy_service(d, scripts, name, port, *extra):
    f = scripts(f"{name}.py", HTTP_SERVICE)
    p = d.cli("deploy", f, "--name", name, "--port", str(port), *extra, check=True)
    return f, p


# --- usage errors and exit statuses ----------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["bogus"],
    ["frobnicate", "x"],
    ["deploy"],
    ["trigger"],
    ["scale", "api"],
    ["scale"],
    ["logs"],
    ["get"],
    ["restart"],
    ["delete"],
    ["delete", "ingress"],
    ["delete", "secret"],
    ["delete", "networkpolicy"],
    ["scale", "api", "notanumber"],
    ["-o", "xml", "get", "apps"],
    ["run"],
    ["deploy", "x.py", "--replicas", "many"],
    ["secret"],
    ["run", "/nonexistent/script.py"],
    ["apply", "-f", "/nonexistent/manifest.yaml"],  # the same for every file a command names
    ["logs", "api", "--tail", "-3"],
])
def test_usage_errors_exit_2(prisnd, args):
    p = prisnd.cli(*args)
    assert p.returncode == 2, (args, p.returncode, p.stdout, p.stderr)
    assert p.stderr.strip(), "a usage error says what is wrong"
    assert prisnd.get("/api/v1/deployments").json()["items"] == []


def test_no_arguments_is_a_usage_error(prisnd):
    p = prisnd.cli()
    assert p.returncode == 2


def test_deploy_with_invalid_default_name_asks_for_name(prisnd, scripts):
    f = scripts("My_Script!.py", "print(1)\n")
    p = prisnd.cli("deploy", f)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert "--name" in p.stderr, p.stderr
    assert prisnd.get("/api/v1/deployments").json()["items"] == []
    p = prisnd.cli("deploy", f, "--name", "my-script")
    assert p.returncode == 0, p.stderr
    assert prisnd.deployment("my-script")["filename"] == "My_Script!.py"


def test_server_unreachable_exits_1_with_message(prisnd):
    p = prisnd.cli("--server", "http://127.0.0.1:1", "get", "apps")
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "127.0.0.1:1" in p.stderr, p.stderr
    p = prisnd.cli("get", "apps", env={"PRISN_SERVER": "http://127.0.0.1:1"})
    assert p.returncode == 1
    assert "127.0.0.1:1" in p.stderr


def test_a_server_that_is_not_prisnd_is_not_taken_for_it(prisnd, tmp_path):
    """A typo'd PRISN_SERVER that reaches some other HTTP server (a workload's port) must not
    report a write as done, nor print a JSON library's exception."""
    fake = tmp_path / "fake.py"
    fake.write_text("""\
import sys
from http.server import HTTPServer, BaseHTTPRequestHandler
class H(BaseHTTPRequestHandler):
    def answer(self):
        body = b"hello" if not self.path.startswith("/api/v1/deployments?") else b'{"items": "x"}'
        ctype = "text/plain" if body == b"hello" else "application/json"
        if self.path.startswith("/api/v1/secrets/nope"):
            body, ctype = b"<html>not found</html>", "text/html"
        self.send_response(404 if ctype == "text/html" else 200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = do_PUT = do_DELETE = answer
    def log_message(self, *a):
        pass
s = HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
""")
    server = subprocess.Popen(["/usr/bin/python3", str(fake)], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        env = {"PRISN_SERVER": f"127.0.0.1:{port}"}
        for args in (["secret", "create", "x", "--value", "y"], ["scale", "zz", "2"], ["get", "secrets"]):
            p = prisnd.cli(*args, env=env)
            assert p.returncode == 1, (args, p.stdout, p.stderr)
            assert p.stdout == "", (args, p.stdout)
            assert (f"the server at 127.0.0.1:{port} did not answer as prisnd does (HTTP 200, text/plain)"
                    in p.stderr), (args, p.stderr)
        p = prisnd.cli("get", "apps", env=env)  # JSON, but not of prisnd's shape
        assert p.returncode == 1 and "did not answer as prisnd does" in p.stderr, p.stderr
        p = prisnd.cli("delete", "secret", "nope", env=env)  # an error that is not prisnd's
        assert p.returncode == 1 and "did not answer as prisnd does (HTTP 404, text/html)" in p.stderr, p.stderr
    finally:
        server.kill()
        server.wait(10)


def test_a_server_that_accepts_and_never_answers_times_out(prisnd):
    """A stopped or wedged prisnd accepts connections (the kernel does) and answers nothing:
    a command gives up after 30 s with a message, instead of waiting for good."""
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen()
        started = time.monotonic()
        p = prisnd.cli("get", "apps", env={"PRISN_SERVER": "127.0.0.1:%d" % mute.getsockname()[1]}, timeout=60)
        took = time.monotonic() - started
    assert p.returncode == 1 and "did not answer within 30 s" in p.stderr, (p.returncode, p.stderr)
    assert 29 < took < 40, took


def test_unknown_commands_limits_and_ports_are_usage_errors_that_say_so(prisnd):
    p = prisnd.cli("frobnicate")
    assert p.returncode == 2 and "unknown command 'frobnicate'" in p.stderr, p.stderr
    p = prisnd.cli("get", "executions", "--limit", "0")
    assert p.returncode == 2 and "--limit 0: expected 1 to 10000" in p.stderr, p.stderr
    p = prisnd.cli("get", "apps", env={"PRISN_SERVER": "http://127.0.0.1:99999"})
    assert p.returncode == 2 and "the port must be a number from 1 to 65535" in p.stderr, p.stderr
    p = prisnd.cli("proxy", "bogus")
    assert p.returncode == 2 and "unknown command 'proxy bogus'" in p.stderr, p.stderr


def test_port_values_on_the_command_line_are_checked_alike(prisnd, scripts):
    f = scripts("ports.py", "print(1)\n")
    for args in (["--expose", "nodePort:30085:1"], ["--expose", "nodePort:70000"], ["--port", " 8080"],
                 ["--port", "70000"]):
        p = prisnd.cli("deploy", f, "--name", "ports", *args)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
    assert prisnd.get("/api/v1/deployments").json()["items"] == []


def test_api_failure_exits_1_with_api_message(prisnd):
    p = prisnd.cli("scale", "nope", "2")
    assert p.returncode == 1
    assert "deployment 'nope' not found in namespace 'default'" in p.stderr, p.stderr
    p = prisnd.cli("trigger", "nope")
    assert p.returncode == 1
    assert "nope" in p.stderr
    p = prisnd.cli("delete", "nope")
    assert p.returncode == 1
    assert "not found" in p.stderr


def test_prisn_server_without_scheme(prisnd, scripts):
    hostport = prisnd.api[len("http://"):]
    assert hostport.startswith("127.0.0.1:")
    env = {"PRISN_SERVER": hostport}
    f = scripts("schemeless.py", "print('ok')\n")
    p = prisnd.cli("deploy", f, "--name", "schemeless", env=env)
    assert p.returncode == 0, p.stderr
    p = prisnd.cli("get", "apps", env=env)
    assert p.returncode == 0, p.stderr
    assert "schemeless" in p.stdout
    p = prisnd.cli("--server", hostport, "trigger", "schemeless", "--wait")
    assert p.returncode == 0, p.stderr
    assert "ok" in p.stdout


# --- deploy ----------------------------------------------------------------------------------

def test_default_name_from_file_stem(prisnd, scripts):
    f = scripts("Data_Sync.v2.py", "print('sync')\n")
    p = prisnd.cli("deploy", f)
    assert p.returncode == 0, p.stderr
    assert "data-sync-v2" in p.stdout
    d = prisnd.deployment("data-sync-v2")
    assert d["type"] == "job" and d["runtime"] == "python3" and d["filename"] == "Data_Sync.v2.py"
    f = scripts("backup.sh", "echo hi\n")
    assert prisnd.cli("deploy", f).returncode == 0
    assert prisnd.deployment("backup")["runtime"] == "bash"


def test_deploy_updates_and_source_survives_file_removal(prisnd, scripts):
    f = scripts("upd.py", "print('one')\n")
    assert prisnd.cli("deploy", f).returncode == 0
    with open(f, "w") as fh:
        fh.write("print('two')\n")
    p = prisnd.cli("deploy", f)
    assert p.returncode == 0, p.stderr
    os.unlink(f)
    p = prisnd.cli("trigger", "upd", "--wait")
    assert p.returncode == 0 and "two" in p.stdout, (p.stdout, p.stderr)


# --- get / output formats --------------------------------------------------------------------

def test_get_apps_table(prisnd, scripts):
    deploy_job(prisnd, scripts, "alpha")
    deploy_job(prisnd, scripts, "a-much-longer-job-name")
    port = free_port()
    deploy_service(prisnd, scripts, "web", port)
    prisnd.wait_ready("web", 1)
    for what in ("apps", "deployments"):
        p = prisnd.cli("get", what)
        assert p.returncode == 0, p.stderr
        header, rows = table(p.stdout)
        assert header[0] == "NAME", header
        names = [r[0] for r in rows]
        assert sorted(names) == ["a-much-longer-job-name", "alpha", "web"], p.stdout
        row = rows[names.index("web")]
        assert str(port) in row, p.stdout
        assert "service" in row and "Running" in row
        assert "job" in rows[names.index("alpha")]
    p = prisnd.cli("-o", "wide", "get", "apps")
    assert p.returncode == 0
    header, rows = table(p.stdout)
    assert "NAME" in header and len(rows) == 3


def test_get_empty_table_has_header_or_message(prisnd):
    p = prisnd.cli("get", "apps")
    assert p.returncode == 0, p.stderr


def test_output_json_and_yaml(prisnd, scripts):
    deploy_job(prisnd, scripts, "alpha")
    deploy_job(prisnd, scripts, "beta")
    p = prisnd.cli("-o", "json", "get", "apps")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert isinstance(doc["items"], list)
    assert sorted(i["name"] for i in doc["items"]) == ["alpha", "beta"]
    p = prisnd.cli("get", "apps", "-o", "json")  # after the subcommand too
    assert p.returncode == 0, p.stderr
    assert len(json.loads(p.stdout)["items"]) == 2
    p = prisnd.cli("-o", "yaml", "get", "apps")
    assert p.returncode == 0, p.stderr
    assert "name: alpha" in p.stdout and "name: beta" in p.stdout
    assert "items:" in p.stdout
    assert not p.stdout.lstrip().startswith("{")
    ex = prisnd.cli("trigger", "alpha", check=True).stdout.strip()
    prisnd.wait_execution(ex)
    doc = json.loads(prisnd.cli("-o", "json", "get", "executions", check=True).stdout)
    assert [e["id"] for e in doc["items"]] == [ex]
    doc = json.loads(prisnd.cli("-o", "json", "status", "alpha", check=True).stdout)
    assert doc["name"] == "alpha"


def test_output_yaml_reads_back_as_the_same_strings(prisnd):
    """A YAML 1.1 reader (PyYAML, kubectl) resolves plain scalars and keys: none may change type."""
    env = {"V": "cr\rx", "W": "-.Inf", "NO": "1", "ON": "yes", "T": "2026-12-07", "E": "", "M": "<<"}
    r = prisnd.post("/api/v1/deployments", {"name": "yamlt", "filename": "y.sh", "source": "echo\n", "env": env})
    assert r.status_code == 201, r.text
    for args in (("get", "deployments", "yamlt"), ("get", "apps"), ("status", "yamlt")):
        p = prisnd.cli("-o", "yaml", *args, check=True)
        doc = yaml.safe_load(p.stdout)
        item = doc["items"][0] if "items" in doc else doc
        assert item["env"] == env, (args, p.stdout)


def test_status_summary_and_detail(prisnd, scripts):
    deploy_job(prisnd, scripts, "alpha")
    deploy_job(prisnd, scripts, "beta")
    port = free_port()
    deploy_service(prisnd, scripts, "web", port, "--replicas", "2")
    prisnd.wait_ready("web", 2)
    p = prisnd.cli("status")
    assert p.returncode == 0, p.stderr
    header, rows = table(p.stdout)
    assert header[0] == "NAME"
    assert sorted(r[0] for r in rows) == ["alpha", "beta", "web"], p.stdout
    web = [r for r in rows if r[0] == "web"][0]
    assert "Running" in web and "2/2" in web, p.stdout
    p = prisnd.cli("status", "web")
    assert p.returncode == 0, p.stderr
    assert "web" in p.stdout and "Running" in p.stdout
    assert "web-0" in p.stdout and "web-1" in p.stdout
    assert str(port) in p.stdout
    prisnd.cli("deploy", scripts("portless.py", "import time\ntime.sleep(600)\n"), "--name", "portless",
               "--replicas", "1", check=True)
    assert "Port:        -\n" in prisnd.cli("status", "portless").stdout  # as `get apps` shows it
    # Every port, and where `expose` publishes it, in status and in deploy's answer.
    multi = prisnd.post("/api/v1/deployments", {"name": "multi", "filename": "m.py", "source": "import time\ntime.sleep(600)\n",
                                                "ports": [{"name": "http", "port": free_port()},
                                                          {"name": "metrics", "port": free_port()}]})
    assert multi.status_code == 201, multi.text
    ports = multi.json()["ports"]
    assert f"Port:        {ports[0]['port']} (http), {ports[1]['port']} (metrics)\n" in prisnd.cli("status", "multi").stdout
    node_port = free_port()
    out = prisnd.cli("deploy", scripts("np.py", "import time\ntime.sleep(600)\n"), "--name", "np", "--port", str(free_port()),
                     "--expose", f"nodePort:{node_port}")
    assert out.returncode == 0 and f", nodePort {node_port})" in out.stdout, out.stdout + out.stderr
    assert f"Exposed:     nodePort {node_port}\n" in prisnd.cli("status", "np").stdout
    p = prisnd.cli("status", "nope")
    assert p.returncode == 1
    assert "not found" in p.stderr


def test_delete_removes_deployment(prisnd, scripts):
    deploy_job(prisnd, scripts, "gone")
    deploy_job(prisnd, scripts, "kept")
    ex = prisnd.cli("trigger", "gone", check=True).stdout.strip()
    prisnd.wait_execution(ex)
    p = prisnd.cli("delete", "gone")
    assert p.returncode == 0, p.stderr
    assert prisnd.get("/api/v1/deployments/gone").status_code == 404
    assert [r[0] for r in table(prisnd.cli("get", "apps", check=True).stdout)[1]] == ["kept"]
    # execution history is kept
    assert prisnd.get(f"/api/v1/executions/{ex}").status_code == 200
    # a new deployment of the same name does not show the old one's runs as its own
    time.sleep(1.1)  # created_at has whole seconds
    deploy_job(prisnd, scripts, "gone")
    status = prisnd.cli("status", "gone", check=True)
    assert ex not in status.stdout and "Recent executions: none yet" in status.stdout, status
    ex2 = prisnd.cli("trigger", "gone", check=True).stdout.strip()
    prisnd.wait_execution(ex2)
    assert ex2 in prisnd.cli("status", "gone", check=True).stdout


def test_delete_service_stops_instances(prisnd, scripts):
    port = free_port()
    deploy_service(prisnd, scripts, "web", port)
    prisnd.wait_ready("web", 1)
    pids = prisnd.instance_pids("web")
    assert prisnd.cli("delete", "web").returncode == 0
    from conftest import pid_alive
    wait_until(lambda: not any(pid_alive(p) for p in pids), 15, message="instances stopped")
    assert prisnd.get("/api/v1/deployments/web").status_code == 404


def test_get_executions_newest_first(prisnd, scripts):
    deploy_job(prisnd, scripts, "alpha")
    deploy_job(prisnd, scripts, "beta")
    ids = []
    for name in ("alpha", "beta", "alpha"):
        p = prisnd.cli("trigger", name)
        assert p.returncode == 0, p.stderr
        ids.append(p.stdout.strip())
        prisnd.wait_execution(ids[-1])
        time.sleep(0.02)
    p = prisnd.cli("get", "executions")
    assert p.returncode == 0, p.stderr
    header, rows = table(p.stdout)
    assert header[0] == "ID"
    assert [r[0] for r in rows] == list(reversed(ids)), p.stdout
    assert column(p.stdout, "DEPLOYMENT") == ["alpha", "beta", "alpha"]
    assert p.stderr == "", "every execution shown: no note"

    # Fewer than there are: the table says older ones were left out, and how to see them.
    p = prisnd.cli("get", "executions", "--limit", "2")
    assert p.returncode == 0, p.stderr
    assert [r[0] for r in table(p.stdout)[1]] == list(reversed(ids))[:2], p.stdout
    assert p.stderr == "(the newest 2; older ones with --limit N, up to 10000)\n"
    p = prisnd.cli("get", "executions", "--limit", "3")
    assert len(table(p.stdout)[1]) == 3 and p.stderr == ""
    p = prisnd.cli("get", "executions", "--limit", "1", "-o", "json")
    assert [e["id"] for e in json.loads(p.stdout)["items"]] == [ids[-1]]
    p = prisnd.cli("get", "apps", "--limit", "2")
    assert p.returncode == 2 and "--limit works with `get executions`" in p.stderr, p.stderr


def test_trigger_prints_id_and_wait_exits_with_job_code(prisnd, scripts):
    deploy_job(prisnd, scripts, "job")
    p = prisnd.cli("trigger", "job")
    assert p.returncode == 0, p.stderr
    exec_id = p.stdout.strip()
    assert re.fullmatch(r"ex-[0-9a-z]+", exec_id), p.stdout
    e = prisnd.wait_execution(exec_id)
    assert e["status"] == "Completed" and e["deployment_id"] == "job" and e["trigger"] == "cli"
    p = prisnd.cli("trigger", "job", "--wait", "-e", "CODE=5")
    assert p.returncode == 5, (p.stdout, p.stderr)
    waited_id, output = p.stdout.split("\n", 1)  # the id first, then the run's output
    assert "job -" in output
    latest = prisnd.get("/api/v1/executions?deployment=job").json()["items"][0]
    assert latest["id"] == waited_id
    assert latest["status"] == "Failed" and latest["exit_code"] == 5
    p = prisnd.cli("trigger", "job", "--wait")
    assert p.returncode == 0


def test_trigger_env_reaches_the_job(prisnd, scripts):
    deploy_job(prisnd, scripts, "job", JOB_SRC, "-e", "K=from-deploy")
    p = prisnd.cli("trigger", "job", "--wait")
    assert p.returncode == 0 and "job from-deploy" in p.stdout, (p.stdout, p.stderr)
    p = prisnd.cli("trigger", "-e", "K=from trigger", "job", "--wait")
    assert p.returncode == 0 and "job from trigger" in p.stdout, (p.stdout, p.stderr)
    exec_id = prisnd.cli("trigger", "job", "-e", "K=v=with=equals", check=True).stdout.strip()
    prisnd.wait_execution(exec_id)
    assert prisnd.get(f"/api/v1/executions/{exec_id}/logs").text == "job v=with=equals\n"


def test_version_prints_both(prisnd):
    p = prisnd.cli("version")
    assert p.returncode == 0, p.stderr
    assert re.search(r"^prisn \S*\d", p.stdout, re.M), p.stdout
    assert re.search(r"^prisnd \S*\d", p.stdout, re.M), p.stdout
    # without a server the client version is still printed, and the failure is the exit status
    p = prisnd.cli("--server", "http://127.0.0.1:1", "version")
    assert re.search(r"^prisn \S*\d", p.stdout, re.M), (p.stdout, p.stderr)
    assert p.returncode == 1 and "cannot reach prisnd at http://127.0.0.1:1" in p.stderr, (p.returncode, p.stderr)


def test_namespaces_isolate(prisnd, scripts):
    f = scripts("dup.py", "import os\nprint('ns', os.environ['PRISN_NAMESPACE'], os.environ.get('K'))\n")
    assert prisnd.cli("deploy", f, "-e", "K=default-one").returncode == 0
    p = prisnd.cli("-n", "other", "deploy", f, "-e", "K=other-one")
    assert p.returncode == 0, p.stderr
    assert prisnd.cli("--namespace", "other", "deploy", scripts("only.py", "print(1)\n")).returncode == 0
    default_names = [r[0] for r in table(prisnd.cli("get", "apps", check=True).stdout)[1]]
    other_names = [r[0] for r in table(prisnd.cli("-n", "other", "get", "apps", check=True).stdout)[1]]
    assert default_names == ["dup"]
    assert sorted(other_names) == ["dup", "only"]
    assert prisnd.deployment("dup", ns="other")["namespace"] == "other"
    assert prisnd.get("/api/v1/deployments/only").status_code == 404
    p = prisnd.cli("-n", "other", "trigger", "dup", "--wait")
    assert p.returncode == 0 and "ns other other-one" in p.stdout, (p.stdout, p.stderr)
    p = prisnd.cli("trigger", "dup", "--wait")
    assert p.returncode == 0 and "ns default default-one" in p.stdout, (p.stdout, p.stderr)
    assert prisnd.cli("-n", "other", "delete", "dup").returncode == 0
    assert prisnd.get("/api/v1/deployments/dup").status_code == 200
    assert prisnd.get("/api/v1/deployments/dup?namespace=other").status_code == 404
    assert prisnd.cli("trigger", "only").returncode == 1


def test_get_apps_watch_prints_changes(prisnd, scripts):
    deploy_job(prisnd, scripts, "early")
    env = dict(os.environ, PRISN_SERVER=prisnd.api)
    proc = subprocess.Popen([PRISN, "get", "apps", "-w"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    lines = queue.Queue()

    def reader():  # unbuffered: whatever the CLI writes is seen at once
        pending = b""
        while True:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            pending += chunk
            *done, pending = pending.split(b"\n")
            for line in done:
                lines.put(line.decode(errors="replace") + "\n")

    t = threading.Thread(target=reader, daemon=True)
    t.start()

    seen = []

    def wait_line(pred, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                if proc.poll() is not None:
                    break
                continue
            seen.append(line)
            if pred(line):
                return line
        raise AssertionError(f"no matching line within {timeout}s; all output so far: {seen!r}; "
                             f"rc={proc.poll()}")

    try:
        wait_line(lambda l: "NAME" in l)
        wait_line(lambda l: l.split()[:1] == ["early"])
        deploy_job(prisnd, scripts, "late")
        wait_line(lambda l: l.split()[:1] == ["late"])
        port = free_port()
        deploy_service(prisnd, scripts, "svc", port)
        wait_line(lambda l: l.split()[:1] == ["svc"] and "Running" in l, timeout=20)
        assert proc.poll() is None, "get -w must keep running"
    finally:
        proc.kill()
        proc.wait(10)
        t.join(5)


def test_get_apps_watch_misses_no_change_made_as_it_starts(prisnd):
    """What there is is listed once the event stream is open: a deployment made while the
    watch starts shows up, as a row of the table or as a change."""
    env = dict(os.environ, PRISN_SERVER=prisnd.api)
    for i in range(12):
        proc = subprocess.Popen([PRISN, "get", "apps", "-w"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        try:
            time.sleep(0.0005 * i)
            r = prisnd.post("/api/v1/deployments", {"name": f"race{i}", "source": "echo hi", "runtime": "bash"})
            assert r.status_code == 201, r.text
            time.sleep(0.4)
        finally:
            proc.kill()
            out, _ = proc.communicate(timeout=10)
        assert any(line.split()[:1] == [f"race{i}"] for line in out.decode().splitlines()), out.decode()


def test_get_apps_watch_says_so_when_prisnd_stops(daemon_factory):
    d = daemon_factory()
    env = dict(os.environ, PRISN_SERVER=d.api)
    proc = subprocess.Popen([PRISN, "get", "apps", "-w"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        wait_until(lambda: d.get("/metrics").ok, 5)
        time.sleep(0.5)
        assert d.stop() == 0
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 1 and "prisnd ended the event stream" in err.decode(), (proc.returncode, err)


def test_get_one_app_watch_as_json_prints_its_objects(prisnd, scripts):
    deploy_job(prisnd, scripts, "other")
    deploy_job(prisnd, scripts, "one")
    env = dict(os.environ, PRISN_SERVER=prisnd.api)
    proc = subprocess.Popen([PRISN, "get", "apps", "one", "-w", "-o", "json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    text = []
    t = threading.Thread(target=lambda: [text.append(c.decode()) for c in iter(lambda: os.read(proc.stdout.fileno(), 65536), b"")],
                         daemon=True)
    t.start()

    def objects():
        decoder, s, out = json.JSONDecoder(), "".join(text), []
        i = 0
        while i < len(s):
            while i < len(s) and s[i].isspace():
                i += 1
            if i == len(s):
                break
            obj, i = decoder.raw_decode(s, i)  # a partial object raises: polled again
            out.append(obj)
        return out
    try:
        wait_until(lambda: len(objects()) == 1, 10, message="the current object")
        assert prisnd.cli("trigger", "other", "--wait").returncode == 0  # another deployment: not shown
        assert prisnd.cli("trigger", "one", "--wait").returncode == 0
        seen = wait_until(lambda: len(objects()) >= 2 and objects(), 10, message="a change of `one`")
        assert {o["name"] for o in seen} == {"one"}, seen
        assert proc.poll() is None, "get -w must keep running"
    finally:
        proc.kill()
        proc.wait(10)
        t.join(5)


# --- logs ------------------------------------------------------------------------------------

def test_logs_of_a_job_show_latest_execution(prisnd, scripts):
    deploy_job(prisnd, scripts, "job")
    assert prisnd.cli("trigger", "job", "-e", "K=first", "--wait").returncode == 0
    assert prisnd.cli("trigger", "job", "-e", "K=second", "--wait").returncode == 0
    p = prisnd.cli("logs", "job")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "job second\n", p.stdout
    p = prisnd.cli("logs", "nope")
    assert p.returncode == 1
    # made again under the name, it has no run of its own yet: the deleted one's are history
    prisnd.cli("delete", "job", check=True)
    deploy_job(prisnd, scripts, "job")
    for follow in ((), ("-f",)):
        p = prisnd.cli("logs", "job", *follow, timeout=20)
        assert p.returncode == 0 and p.stdout == "", (follow, p.stdout, p.stderr)


def test_usage_errors_say_what_is_missing_or_wrong_in_the_users_words(prisnd, tmp_path):
    for args, says in ((["delete"], "prisn: NAME is required (prisn delete --help lists the options)"),
                       (["get"], "prisn: RESOURCE is required"),
                       (["get", "apps", "--nope"], "prisn: The following argument was not expected: --nope"),
                       (["cluster", "join", "10.0.0.2:7331"], "prisn: unknown command 'cluster': prisn runs on one node"),
                       (["k8s", "render", "x", "-o", "json"], "prisn: k8s render writes YAML"),
                       (["logs", "x", "--tail", "-3"], "--tail: must be 0 or more"),
                       (["scale", "web", "abc"], "prisn: REPLICAS: expected a whole number, got 'abc'"),
                       (["logs", "x", "--tail", "y"], "prisn: --tail: expected a whole number, got 'y'"),
                       (["run", str(tmp_path)], "it is a directory")):
        p = prisnd.cli(*args)
        assert p.returncode == 2 and says in p.stderr, (args, p.stderr)


def test_logs_of_a_deployment_named_like_an_execution(prisnd, scripts):
    deploy_job(prisnd, scripts, "ex-backup", JOB_SRC, "-e", "K=named-ex")
    assert prisnd.cli("trigger", "ex-backup", "--wait").returncode == 0
    p = prisnd.cli("logs", "ex-backup")
    assert p.returncode == 0 and p.stdout == "job named-ex\n", (p.stdout, p.stderr)
    p = prisnd.cli("logs", "ex-nothing")
    assert p.returncode == 1 and "ex-nothing" in p.stderr, p.stderr


def test_logs_of_a_service_and_tail(prisnd, scripts):
    port = free_port()
    deploy_service(prisnd, scripts, "web", port, "--replicas", "2")
    prisnd.wait_ready("web", 2)
    for _ in range(4):
        requests.get(f"http://127.0.0.1:{port}/x", timeout=5)
    wait_until(lambda: prisnd.cli("logs", "web").stdout.count("request /x") == 4, 10, message="request lines")
    out = prisnd.cli("logs", "web").stdout
    for line in out.splitlines():
        assert re.match(r"\[web-[01]\] ", line), out
    out = prisnd.cli("logs", "web", "--tail", "2").stdout
    assert len(out.splitlines()) == 2, out


# --- --port auto and re-deploys --------------------------------------------------------------

def test_port_auto_in_tcp_range_and_kept_on_redeploy(prisnd, scripts):
    lo, hi = map(int, prisnd.tcp_ports.split("-"))
    f = scripts("auto.py", HTTP_SERVICE)
    p = prisnd.cli("deploy", f, "--port", "auto")
    assert p.returncode == 0, p.stderr
    ports = [int(x) for x in re.findall(r"\b(\d{2,5})\b", p.stdout) if lo <= int(x) <= hi]
    assert ports, f"no port in {lo}-{hi} printed: {p.stdout!r}"
    port = prisnd.deployment("auto")["port"]
    assert lo <= port <= hi, (port, prisnd.tcp_ports)
    assert str(port) in p.stdout
    prisnd.wait_ready("auto", 1)
    r = wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=5), 10, message="service answers")
    assert r.status_code == 200 and r.text == "auto-0 v1\n"
    # re-deploy (changed env) with --port auto: same port
    p = prisnd.cli("deploy", f, "--port", "auto", "-e", "VERSION=v2")
    assert p.returncode == 0, p.stderr
    assert prisnd.deployment("auto")["port"] == port
    assert str(port) in p.stdout
    wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=5).text == "auto-0 v2\n", 20,
               message="v2 answering on the same port")
    # a second auto deployment gets a different port in the range
    p = prisnd.cli("deploy", scripts("auto2.py", HTTP_SERVICE), "--port", "auto")
    assert p.returncode == 0, p.stderr
    port2 = prisnd.deployment("auto2")["port"]
    assert lo <= port2 <= hi and port2 != port


def test_redeploy_keeps_scaled_replicas(prisnd, scripts):
    port = free_port()
    f, _ = deploy_service(prisnd, scripts, "web", port)
    prisnd.wait_ready("web", 1)
    p = prisnd.cli("scale", "web", "3")
    assert p.returncode == 0, p.stderr
    prisnd.wait_ready("web", 3)
    p = prisnd.cli("deploy", f, "--name", "web", "--port", str(port), "-e", "VERSION=v2")
    assert p.returncode == 0, p.stderr
    assert prisnd.deployment("web")["replicas"] == 3
    wait_until(lambda: all(requests.get(f"http://127.0.0.1:{port}/", timeout=5).text.endswith(" v2\n")
                           for _ in range(6)), 25, interval=0.3, message="roll to v2")
    prisnd.wait_ready("web", 3)
    # the last old instance drains (out of rotation, still listed) before it stops
    wait_until(lambda: len(prisnd.endpoints("web")) == 3, 10, message="old instances gone")
    assert all(e["healthy"] for e in prisnd.endpoints("web"))
    # an explicit --replicas still wins
    assert prisnd.cli("deploy", f, "--name", "web", "--port", str(port), "-e", "VERSION=v2",
                      "--replicas", "1").returncode == 0
    assert prisnd.deployment("web")["replicas"] == 1


def test_redeploy_of_a_cron_job_keeps_its_schedule(prisnd, scripts):
    f = scripts("nightly.py", JOB_SRC)
    assert prisnd.cli("deploy", f, "--schedule", "0 3 * * *").returncode == 0
    p = prisnd.cli("deploy", f, "-e", "K=v2")
    assert p.returncode == 0 and "cron" in p.stdout, (p.stdout, p.stderr)
    d = prisnd.deployment("nightly")
    assert d["type"] == "cron" and d["schedule"] == "0 3 * * *" and d["env"] == {"K": "v2"}, d
    p = prisnd.cli("deploy", f, "--type", "job")  # a flag that says otherwise wins
    assert p.returncode == 0, p.stderr
    d = prisnd.deployment("nightly")
    assert d["type"] == "job" and not d.get("schedule"), d


def test_redeploy_without_port_keeps_the_port_and_port_0_removes_it(prisnd, scripts):
    port = free_port()
    f, _ = deploy_service(prisnd, scripts, "web", port)
    prisnd.wait_ready("web", 1)
    p = prisnd.cli("deploy", f, "--name", "web", "-e", "VERSION=v2")
    assert p.returncode == 0, p.stderr
    d = prisnd.deployment("web")
    assert (d["type"], d["port"]) == ("service", port)
    wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=5).text.endswith(" v2\n"), 20,
               interval=0.3, message="v2 answering on the kept port")
    p = prisnd.cli("deploy", f, "--name", "web", "-e", "VERSION=v2", "--port", "0")
    assert p.returncode == 0, p.stderr
    assert not prisnd.deployment("web").get("port")
    wait_until(lambda: not port_open(port), 20, message="the published port closes")


def test_scale_and_restart_commands(prisnd, scripts):
    port = free_port()
    deploy_service(prisnd, scripts, "web", port)
    prisnd.wait_ready("web", 1)
    assert prisnd.cli("scale", "web", "2").returncode == 0
    prisnd.wait_ready("web", 2)
    pids = prisnd.instance_pids("web")
    p = prisnd.cli("restart", "web")
    assert p.returncode == 0, p.stderr
    wait_until(lambda: not set(prisnd.instance_pids("web")) & set(pids) and len(prisnd.instance_pids("web")) == 2,
               25, interval=0.2, message="all instances replaced")
    assert prisnd.cli("scale", "web", "0").returncode == 0
    prisnd.wait_phase("web", "Stopped")


def _read_until(proc, needle, timeout):
    """Reads proc's stdout (unbuffered) until `needle` appears or `timeout` passes."""
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while needle not in out and time.monotonic() < deadline:
            if sel.select(timeout=0.1):
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                out += chunk
    finally:
        sel.close()
    return out


@pytest.mark.parametrize("how", ["logs-f", "trigger-wait", "run"])
def test_output_is_streamed_live(prisnd, scripts, how):
    src = "import time\nprint('first', flush=True)\ntime.sleep(6)\nprint('second', flush=True)\n"
    deploy_job(prisnd, scripts, "slow", src)
    env = dict(os.environ, PRISN_SERVER=prisnd.api)
    if how == "logs-f":
        exec_id = prisnd.cli("trigger", "slow", check=True).stdout.strip()
        wait_until(lambda: "first" in prisnd.get(f"/api/v1/executions/{exec_id}/logs").text, 10, message="first line")
        args = [PRISN, "logs", exec_id, "-f"]
    elif how == "run":
        args = [PRISN, "run", scripts("slow-run.py", src)]
    else:
        args = [PRISN, "trigger", "slow", "--wait"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    try:
        started = time.monotonic()
        out = _read_until(proc, b"first", 4)
        assert b"first" in out, f"nothing streamed within {time.monotonic() - started:.1f}s (got {out!r})"
        assert b"second" not in out
        out += _read_until(proc, b"second", 15)
        assert b"second" in out
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


# --- empty tables, non-UTF-8 scripts, duplicate secret keys ---------------------------------

@pytest.mark.parametrize("args,message", [
    (["get", "apps"], "No deployments in namespace emptyns."),
    (["status"], "No deployments in namespace emptyns."),
    (["get", "ingresses"], "No ingresses in namespace emptyns."),
    (["get", "networkpolicies"], "No network policies in namespace emptyns."),
    (["get", "executions"], "No executions in namespace emptyns."),
    (["get", "secrets"], "No secrets in namespace emptyns."),
    (["get", "endpoints"], "No services in namespace emptyns."),
    (["-o", "wide", "get", "endpoints"], "No service instances in namespace emptyns."),
    (["-o", "wide", "get", "endpoints", "onejob"], "No instances of 'onejob'."),
])
def test_empty_table_keeps_its_header_and_says_so_on_stderr(prisnd, scripts, args, message):
    deploy_job(prisnd, scripts, "elsewhere")  # in default: must not show up in emptyns
    if "onejob" in args:
        deploy_job(prisnd, scripts, "onejob", JOB_SRC, "-n", "emptyns")  # a job has no instances
    p = prisnd.cli("-n", "emptyns", *args)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    # header only, so scripts that skip the first line (tail -n +2) see no rows
    assert len(lines) == 1 and lines[0].split()[0] in ("NAME", "ID"), p.stdout
    assert "elsewhere" not in p.stdout
    assert p.stderr.strip() == message, p.stderr


@pytest.mark.parametrize("command", ["run", "deploy"])
def test_a_script_that_is_not_utf8_is_refused(prisnd, tmp_path, command):
    f = tmp_path / "lat.py"
    f.write_bytes(b'print("caf\xe9")\n')  # Latin-1: the JSON body could not carry it faithfully
    p = prisnd.cli(command, str(f))
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert "not UTF-8" in p.stderr, p.stderr
    assert "caf" not in p.stdout
    assert prisnd.get("/api/v1/deployments").json()["items"] == []
    assert prisnd.get("/api/v1/executions").json()["items"] == []


def test_secret_from_file_with_a_repeated_key_is_a_usage_error(prisnd, tmp_path):
    (tmp_path / "f1").write_text("one")
    (tmp_path / "f2").write_text("two")
    p = prisnd.cli("secret", "create", "s", "--from-file", f"a={tmp_path / 'f1'}", "--from-file", f"a={tmp_path / 'f2'}")
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert p.stderr.strip()
    assert prisnd.get("/api/v1/secrets/s").status_code == 404
    # the same key from distinct files' default names counts too: both are "data.txt"
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    (tmp_path / "x" / "data.txt").write_text("1")
    (tmp_path / "y" / "data.txt").write_text("2")
    p = prisnd.cli("secret", "create", "s", "--from-file", str(tmp_path / "x" / "data.txt"),
                   "--from-file", str(tmp_path / "y" / "data.txt"))
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert prisnd.get("/api/v1/secrets/s").status_code == 404


def test_a_body_over_the_api_limit_shows_the_api_message(prisnd, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (9 << 20))  # over the 8 MiB body limit once base64-encoded, and before
    p = prisnd.cli("secret", "create", "big", "--from-file", str(big))
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "larger than the 8388608 byte limit" in p.stderr, p.stderr
    assert prisnd.get("/api/v1/secrets/big").status_code == 404


def test_values_the_cli_can_tell_are_wrong_are_usage_errors(prisnd, scripts):
    script = scripts("v.py", "print(1)\n")
    for args, says in ((["--port", "99999"], "--port"), (["--port", "abc"], "--port"), (["--type", "bogus"], "--type"),
                       (["--protocol", "udp"], "--protocol"), (["--secret", "db-password/:E"], "--secret"),
                       (["--secret", "db-password:E:F"], "--secret"), (["--secret", "/k:E"], "--secret"),
                       (["--secret", "a/b/c:E"], "--secret")):
        out = prisnd.cli("deploy", script, "--name", "v", *args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert says in out.stderr, out.stderr
    assert prisnd.get("/api/v1/deployments/v").status_code == 404
    assert prisnd.cli("deploy", script, "--name", "v", "--port", "auto").returncode == 0
    # An empty value ("--name $UNSET") is not "not given": `deploy --name ""` would update the
    # deployment named after the file.
    other = scripts("other.py", "print(2)\n")
    for args in (["deploy", other, "--name", ""], ["deploy", other, "--schedule", ""],
                 ["deploy", other, "--runtime", ""], ["run", other, "--timeout", ""], ["-n", "", "get", "apps"],
                 ["apply", "-f", ""]):
        out = prisnd.cli(*args)
        assert out.returncode == 2 and "must not be empty" in out.stderr, (args, out.returncode, out.stderr)
    assert prisnd.get("/api/v1/deployments/other").status_code == 404


def test_every_command_answers_in_json_with_o_json(prisnd, scripts):
    f = scripts("j.py", "print('hi')\n")
    out = prisnd.cli("-o", "json", "run", f, "--detach")
    assert out.returncode == 0 and json.loads(out.stdout)["id"].startswith("ex-"), out.stdout
    out = prisnd.cli("-o", "json", "secret", "create", "s", "--value", "v")
    assert out.returncode == 0 and json.loads(out.stdout)["name"] == "s", out.stdout
    assert "v" not in json.loads(out.stdout).values()
    out = prisnd.cli("-o", "json", "delete", "secret", "s")
    assert out.returncode == 0 and isinstance(json.loads(out.stdout), dict), out.stdout
    deploy_job(prisnd, scripts, "gone")
    out = prisnd.cli("-o", "json", "delete", "gone")
    assert out.returncode == 0 and json.loads(out.stdout)["deleted"] == "gone", out.stdout
    out = prisnd.cli("-o", "json", "version")
    v = json.loads(out.stdout)
    assert out.returncode == 0 and v["client"]["version"] and v["server"]["version"], out.stdout


def test_small_things_read_as_meant(prisnd, scripts):
    """`delete` takes the short kinds `get` takes; a portless instance's endpoint is its address;
    `port N chosen` is said when a port was chosen, not on every deploy after."""
    assert prisnd.post("/api/v1/ingresses", {"name": "i1", "rules": [
        {"host": "i1.example.com", "paths": [{"path": "/", "deployment": "x"}]}]}).status_code == 201
    assert prisnd.post("/api/v1/networkpolicies", {"name": "p1", "target": {"deployment": "x"},
                                                    "ingress": []}).status_code == 201
    assert prisnd.cli("delete", "ing", "i1").returncode == 0
    assert prisnd.cli("delete", "netpol", "p1").returncode == 0
    assert prisnd.get("/api/v1/ingresses/i1").status_code == 404
    assert prisnd.get("/api/v1/networkpolicies/p1").status_code == 404

    prisnd.cli("deploy", scripts("worker.py", "import time\ntime.sleep(600)\n"), "--name", "worker",
               "--replicas", "1", check=True)
    prisnd.wait_ready("worker", 1)
    out = prisnd.cli("get", "endpoints", check=True).stdout
    assert re.search(r"^worker\s+127\.0\.0\.1\s*$", out, re.M), out
    assert ":-" not in prisnd.cli("-o", "wide", "get", "endpoints", check=True).stdout

    web = scripts("web.py", HTTP_SERVICE)
    first = prisnd.cli("deploy", web, "--name", "web", "--port", "auto", check=True).stdout
    assert re.search(r"^port \d+ chosen", first, re.M), first
    again = prisnd.cli("deploy", web, "--name", "web", "--port", "auto", check=True).stdout
    assert "unchanged" in again and "chosen" not in again, again


def test_network_policies_list_one_entry_per_rule(prisnd):
    """{api → 3000, web → 3001} must not read as api and web to both ports; no rule is nobody."""
    assert prisnd.post("/api/v1/networkpolicies", {"name": "two", "target": {"deployment": "db"}, "ingress": [
        {"from": [{"deployment": "api"}], "ports": [3000]},
        {"from": [{"deployment": "web"}, {"deployment": "cron"}]}]}).status_code == 201
    assert prisnd.post("/api/v1/networkpolicies", {"name": "none", "target": {"deployment": "db"},
                                                    "ingress": []}).status_code == 201
    cols, rows = table(prisnd.cli("get", "networkpolicies", check=True).stdout)
    by_name = {row[0]: dict(zip(cols, row)) for row in rows}
    assert (by_name["two"]["FROM"], by_name["two"]["PORTS"]) == ("api; web,cron", "3000; any"), by_name
    assert (by_name["none"]["FROM"], by_name["none"]["PORTS"]) == ("<none>", "-"), by_name
