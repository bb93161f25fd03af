# SPDX-License-Identifier: MIT
"""Secrets, retriggerable jobs and cron, following the seed "Service Interaction in prisn"
(SPEC §3 Secret/Execution, §4, §5, §6.2, §6.3, §6.5)."""
import datetime
import json
import socket
import os
import pathlib
import re
import subprocess
import time

import pytest
import requests

import conftest

from conftest import HTTP_SERVICE, free_port, wait_until

SECRET = "supersecret"

SECRET_SERVICE = """\
import os
from http.server import HTTPServer, BaseHTTPRequestHandler

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = os.environ['DATABASE_PASSWORD'].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, fmt, *args):
        pass

HTTPServer.allow_reuse_address = True
print("api up", flush=True)
HTTPServer(('', int(os.environ['PORT'])), Handler).serve_forever()
"""

ENV_JOB = """\
import json, os
keys = ["MODE", "EXTRA", "PRISN_DEPLOYMENT", "PRISN_NAMESPACE", "PRISN_EXECUTION_ID", "PRISN_API", "PRISN_INSTANCE"]
print(json.dumps({k: os.environ.get(k) for k in keys}))
"""


# --- PrisnClient, copied verbatim from the seed (only the server URL is given at construction) --

import requests
from typing import Optional, Dict, Any

class PrisnClient:
    def __init__(self, server: str = "http://localhost:7331"):
        self.server = server

    def list_deployments(self) -> list:
        resp = requests.get(f"{self.server}/api/v1/deployments")
        resp.raise_for_status()
        return resp.json()["items"]

    def get_deployment(self, name: str) -> dict:
        resp = requests.get(f"{self.server}/api/v1/deployments/{name}")
        resp.raise_for_status()
        return resp.json()

    def trigger(self, deployment_id: str, env: Optional[Dict[str, str]] = None) -> str:
        """Trigger a deployment and return execution ID"""
        payload = {"deployment_id": deployment_id}
        if env:
            payload["env"] = env
        resp = requests.post(f"{self.server}/api/v1/executions", json=payload)
        resp.raise_for_status()
        return resp.json()["id"]

    def wait_for_execution(self, exec_id: str, timeout: int = 300) -> dict:
        """Wait for execution to complete"""
        import time
        deadline = time.time() + timeout
        while time.time() < deadline:
            resp = requests.get(f"{self.server}/api/v1/executions/{exec_id}")
            data = resp.json()
            if data["status"] in ("Completed", "Failed"):
                return data
            time.sleep(1)
        raise TimeoutError(f"Execution {exec_id} didn't complete in {timeout}s")

    def scale(self, name: str, replicas: int):
        resp = requests.post(
            f"{self.server}/api/v1/deployments/{name}/scale",
            json={"replicas": replicas}
        )
        resp.raise_for_status()


# --- helpers ---------------------------------------------------------------------------------

def parse_time(s):
    assert isinstance(s, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", s), s
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def exec_logs(d, exec_id):
    r = d.get(f"/api/v1/executions/{exec_id}/logs")
    assert r.status_code == 200, r.text
    return r


def run_job(d, name, env=None, timeout=30):
    body = {"deployment_id": name}
    if env is not None:
        body["env"] = env
    r = d.post("/api/v1/executions", body)
    assert r.status_code == 201, r.text
    e = d.wait_execution(r.json()["id"], timeout)
    return e


# --- secrets ---------------------------------------------------------------------------------

def test_secret_injected_into_service_like_the_seed(daemon_factory, scripts):
    d = daemon_factory(extra_args=["--log-level", "debug"])
    p = d.cli("secret", "create", "db-password", "--value", SECRET)
    assert p.returncode == 0, p.stderr
    assert SECRET not in p.stdout + p.stderr
    port = free_port()
    f = scripts("api.py", SECRET_SERVICE)
    p = d.cli("deploy", f, "--port", str(port), "--name", "api", "--secret", "db-password:DATABASE_PASSWORD")
    assert p.returncode == 0, p.stderr
    d.wait_ready("api", 1)
    r = wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=5), 10, message="api answers")
    assert r.status_code == 200 and r.text == SECRET

    dep = d.deployment("api")
    assert dep["secrets"] == [{"secret": "db-password", "env": "DATABASE_PASSWORD"}] or \
        [(s["secret"], s["env"]) for s in dep["secrets"]] == [("db-password", "DATABASE_PASSWORD")], dep["secrets"]

    # no API response contains the value
    responses = [
        d.get("/api/v1/secrets"),
        d.get("/api/v1/secrets/db-password"),
        d.get("/api/v1/deployments"),
        d.get("/api/v1/deployments/api"),
        d.get("/api/v1/deployments/api?include=source"),
        d.get("/api/v1/endpoints/api"),
        d.get("/api/v1/executions"),
        d.get("/metrics"),
        d.post("/api/v1/secrets", {"name": "other-pw", "value": SECRET + "-2"}),
        d.put("/api/v1/secrets/other-pw", {"name": "other-pw", "value": SECRET + "-3"}),
        d.post("/api/v1/secrets", {"name": "Bad_Name", "value": SECRET}),
        d.post("/api/v1/secrets", {"name": "db-password", "value": SECRET}),  # 409
    ]
    for r in responses:
        assert r.status_code < 500, (r.request.url, r.status_code)
        assert SECRET not in r.text, (r.request.method, r.request.url, r.text[:300])
    meta = d.get("/api/v1/secrets/db-password").json()
    assert meta["name"] == "db-password" and meta["namespace"] == "default" and meta["keys"] == ["value"]
    assert meta["created_at"]
    for args in (("get", "secrets"), ("-o", "json", "get", "secrets"), ("-o", "yaml", "get", "secrets"),
                 ("status", "api"), ("-o", "json", "get", "apps"), ("get", "secrets", "db-password")):
        p = d.cli(*args)
        assert SECRET not in p.stdout + p.stderr, args

    # nor prisnd's own log, nor the database (at rest the value is encrypted)
    log = d.read_log()
    assert SECRET not in log
    files = sorted(d.data_dir.glob("state.db*"))
    assert files, list(d.data_dir.iterdir())
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path
    # the service never prints it, so no file prisnd wrote holds it in clear text
    for path in sorted(d.data_dir.rglob("*")):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    d.stop()
    for path in sorted(d.data_dir.glob("state.db*")):
        assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in d.read_log()


def test_secret_in_a_job_and_env_precedence(prisnd, scripts):
    assert prisnd.cli("secret", "create", "token", "--value", "tok-123").returncode == 0
    f = scripts("show.py", "import os\nprint(os.environ['TOKEN'])\n")
    # the deployment's env sets TOKEN too: secrets win (SPEC §6.2)
    p = prisnd.cli("deploy", f, "--name", "show", "-e", "TOKEN=from-env", "--secret", "token:TOKEN")
    assert p.returncode == 0, p.stderr
    e = run_job(prisnd, "show")
    assert e["status"] == "Completed", e
    assert exec_logs(prisnd, e["id"]).text == "tok-123\n"
    # updating the secret is seen by the next run
    r = prisnd.put("/api/v1/secrets/token", {"name": "token", "value": "tok-456"})
    assert r.status_code in (200, 201), r.text
    e = run_job(prisnd, "show")
    assert exec_logs(prisnd, e["id"]).text == "tok-456\n"


def test_secret_from_files_is_byte_exact(prisnd, scripts, tmp_path):
    crt = ("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n  indented\ttab\r\nwindows line\r\n\n"
           "ünïcödé ✓ \"quotes\" 'single' $HOME `cmd` \\back\\slash\n-----END CERTIFICATE-----\n\n")
    key = "no trailing newline = equals; semi; # hash  "
    ca = "\n\nleading blank lines\n"
    (tmp_path / "tls.crt.src").write_bytes(crt.encode())
    (tmp_path / "key.src").write_bytes(key.encode())
    (tmp_path / "ca.pem").write_bytes(ca.encode())
    p = prisnd.cli("secret", "create", "api-tls", "--from-file", f"tls.crt={tmp_path / 'tls.crt.src'}",
                   "--from-file", f"key={tmp_path / 'key.src'}", "--from-file", str(tmp_path / "ca.pem"))
    assert p.returncode == 0, p.stderr
    meta = prisnd.get("/api/v1/secrets/api-tls").json()
    assert sorted(meta["keys"]) == ["ca.pem", "key", "tls.crt"], meta
    assert "data" not in meta and "value" not in meta

    f = scripts("dump.py", "import json, os\nprint(json.dumps({k: os.environ.get(k) for k in ('CRT', 'KEY', 'CA')}))\n")
    p = prisnd.cli("deploy", f, "--name", "dump", "--secret", "api-tls/tls.crt:CRT", "--secret", "api-tls/key:KEY",
                   "--secret", "api-tls/ca.pem:CA")
    assert p.returncode == 0, p.stderr
    e = run_job(prisnd, "dump")
    assert e["status"] == "Completed", e
    got = json.loads(exec_logs(prisnd, e["id"]).content.decode())
    assert got["CRT"] == crt
    assert got["KEY"] == key
    assert got["CA"] == ca

    # a one-key secret from a file: NAME:ENV injects its only key
    (tmp_path / "single.txt").write_bytes(b"only\tkey\n")
    assert prisnd.cli("secret", "create", "single", "--from-file", f"k={tmp_path / 'single.txt'}").returncode == 0
    f = scripts("one.py", "import json, os\nprint(json.dumps(os.environ['ONE']))\n")
    assert prisnd.cli("deploy", f, "--name", "one", "--secret", "single:ONE").returncode == 0
    e = run_job(prisnd, "one")
    assert e["status"] == "Completed", e
    assert json.loads(exec_logs(prisnd, e["id"]).text) == "only\tkey\n"

    # SPEC §5 `--from-file [KEY=]FILE...`: several files after one flag
    p = prisnd.cli("secret", "create", "pair", "--from-file", f"tls.crt={tmp_path / 'tls.crt.src'}",
                   f"tls.key={tmp_path / 'key.src'}")
    assert p.returncode == 0, p.stderr
    assert sorted(prisnd.get("/api/v1/secrets/pair").json()["keys"]) == ["tls.crt", "tls.key"]


def test_secret_with_a_nul_byte_fails_the_run_instead_of_being_cut_short(prisnd, scripts, tmp_path):
    (tmp_path / "blob.bin").write_bytes(b"before\0after-hidden")
    assert prisnd.cli("secret", "create", "blob", "--from-file", f"value={tmp_path / 'blob.bin'}").returncode == 0
    f = scripts("blob.py", "import os\nprint(len(os.environ['BLOB']))\n")
    assert prisnd.cli("deploy", f, "--name", "blob", "--secret", "blob:BLOB").returncode == 0
    e = run_job(prisnd, "blob")
    assert e["status"] == "Failed", e
    assert "secret 'blob' key 'value' holds a NUL byte" in e["error"], e
    assert "after-hidden" not in json.dumps(e)


def test_secret_via_api_with_data(prisnd):
    r = prisnd.post("/api/v1/secrets", {"name": "creds", "data": {"user": "alice", "password": "pw-1"}})
    assert r.status_code == 201, r.text
    assert "pw-1" not in r.text and "alice" not in r.text
    body = r.json()
    assert body["name"] == "creds" and sorted(body["keys"]) == ["password", "user"]
    r = prisnd.post("/api/v1/deployments", {
        "name": "who", "runtime": "bash", "source": "echo \"$U:$P\"\n",
        "secrets": [{"secret": "creds", "key": "user", "env": "U"}, {"secret": "creds", "key": "password", "env": "P"}]})
    assert r.status_code == 201, r.text
    e = run_job(prisnd, "who")
    assert exec_logs(prisnd, e["id"]).text == "alice:pw-1\n"


def test_secret_set_creates_or_replaces_and_names_the_services_to_restart(prisnd, scripts, tmp_path):
    """`secret create` is a 409 when the secret exists; rotating it must not mean delete then
    create, a gap in which an instance that restarts cannot start."""
    p = prisnd.cli("secret", "set", "rot", "--value", "one")
    assert p.returncode == 0 and p.stdout == 'secret "rot" created\n', (p.stdout, p.stderr)
    prisnd.cli("deploy", scripts("svc.py", HTTP_SERVICE), "--name", "svc", "--port", str(free_port()),
               "--secret", "rot:ROT", check=True)
    prisnd.wait_ready("svc", 1)
    p = prisnd.cli("secret", "set", "rot", "--from-file", f"value={scripts('v.txt', 'two')}")
    assert p.returncode == 0 and p.stdout == 'secret "rot" updated\n', (p.stdout, p.stderr)
    assert "running instances of svc keep the old value until they restart" in p.stderr, p.stderr
    job = scripts("show.py", "import os; print(os.environ['ROT'])")
    prisnd.cli("deploy", job, "--name", "show", "--secret", "rot:ROT", check=True)
    out = prisnd.cli("trigger", "show", "--wait", check=True).stdout
    assert out.splitlines()[-1] == "two", out
    assert prisnd.cli("secret", "create", "rot", "--value", "x").returncode == 1  # create still refuses
    assert prisnd.cli("secret", "set", "rot").returncode == 2


def test_an_instance_that_cannot_restart_for_a_deleted_secret_is_listed_waiting(prisnd, scripts):
    """SPEC §4: endpoints lists every instance with its state; one whose secret was deleted
    after it died has no process and no backoff, and its restart was never made."""
    prisnd.cli("secret", "create", "pw", "--value", "v1", check=True)
    prisnd.cli("deploy", scripts("svc.py", HTTP_SERVICE), "--name", "esvc", "--port", str(free_port()),
               "--replicas", "2", "--secret", "pw:PW", check=True)
    prisnd.wait_ready("esvc", 2)
    prisnd.cli("delete", "secret", "pw", check=True)
    victim = [e for e in prisnd.endpoints("esvc") if e["instance"] == "esvc-0"][0]
    os.kill(victim["pid"], 9)

    def waiting():
        eps = {e["instance"]: e for e in prisnd.endpoints("esvc")}
        return eps if eps.get("esvc-0", {}).get("state") == "Waiting" else None
    eps = wait_until(waiting, 15, message="esvc-0 listed as Waiting")
    assert set(eps) == {"esvc-0", "esvc-1"}, eps
    assert "secret 'pw' not found" in eps["esvc-0"]["message"] and eps["esvc-0"]["pid"] is None, eps
    time.sleep(1.5)
    assert prisnd.deployment("esvc")["status"]["restarts"] == 0  # nothing was started again
    assert 'prisn_instances{namespace="default",deployment="esvc",state="waiting"} 1' in prisnd.get("/metrics").text
    prisnd.cli("secret", "create", "pw", "--value", "v2", check=True)
    prisnd.wait_ready("esvc", 2)


def test_get_and_delete_secrets(prisnd, tmp_path):
    assert prisnd.cli("secret", "create", "db-password", "--value", SECRET).returncode == 0
    (tmp_path / "a").write_text("A")
    (tmp_path / "b").write_text("B")
    assert prisnd.cli("secret", "create", "multi", "--from-file", f"tls.crt={tmp_path / 'a'}",
                      "--from-file", f"key={tmp_path / 'b'}").returncode == 0
    p = prisnd.cli("get", "secrets")
    assert p.returncode == 0, p.stderr
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    assert lines[0].split()[:2] == ["NAME", "KEYS"], p.stdout
    rows = {l.split()[0]: l for l in lines[1:]}
    assert set(rows) == {"db-password", "multi"}, p.stdout
    assert "value" in rows["db-password"]
    assert "tls.crt" in rows["multi"] and "key" in rows["multi"]
    assert SECRET not in p.stdout
    items = prisnd.get("/api/v1/secrets").json()["items"]
    assert sorted(i["name"] for i in items) == ["db-password", "multi"]
    for i in items:
        assert set(i) >= {"name", "namespace", "created_at", "keys"}, i
        assert "value" not in i and "data" not in i

    p = prisnd.cli("delete", "secret", "db-password")
    assert p.returncode == 0, p.stderr
    assert prisnd.get("/api/v1/secrets/db-password").status_code == 404
    p = prisnd.cli("secret", "delete", "multi")
    assert p.returncode == 0, p.stderr
    assert prisnd.get("/api/v1/secrets/multi").status_code == 404
    assert prisnd.get("/api/v1/secrets").json()["items"] == []
    p = prisnd.cli("delete", "secret", "db-password")
    assert p.returncode == 1


def test_secrets_are_namespaced(prisnd, scripts):
    assert prisnd.cli("-n", "other", "secret", "create", "pw", "--value", "x").returncode == 0
    assert prisnd.get("/api/v1/secrets/pw").status_code == 404
    assert prisnd.get("/api/v1/secrets/pw?namespace=other").status_code == 200
    f = scripts("pw.py", "import os\nprint(os.environ['PW'])\n")
    # the secret exists only in 'other': a job in 'default' is stored, but its runs fail
    assert prisnd.cli("deploy", f, "--name", "pw", "--secret", "pw:PW").returncode == 0
    p = prisnd.cli("trigger", "pw", "--wait")
    assert p.returncode == 1 and "secret 'pw' not found in namespace 'default'" in p.stderr, (p.stdout, p.stderr)
    assert prisnd.cli("-n", "other", "deploy", f, "--name", "pw", "--secret", "pw:PW").returncode == 0
    p = prisnd.cli("-n", "other", "trigger", "pw", "--wait")
    assert p.returncode == 0 and p.stdout.endswith("x\n"), (p.stdout, p.stderr)


def test_a_service_naming_a_secret_not_created_yet_starts_once_it_is(prisnd, scripts):
    # As the seed's deploy-system.sh does (and Kubernetes allows): the secret comes later.
    port = free_port()
    f = scripts("notify.py", SECRET_SERVICE.replace("DATABASE_PASSWORD", "SMTP_PASSWORD"))
    p = prisnd.cli("deploy", f, "--port", str(port), "--name", "notification-service",
                   "--secret", "smtp-password:SMTP_PASSWORD")
    assert p.returncode == 0, p.stderr
    assert "warning: secret 'smtp-password' not found in namespace 'default'" in p.stderr, p.stderr
    d = prisnd.deployment("notification-service")
    assert d["status"]["phase"] == "Failed" and "smtp-password" in d["status"]["message"], d["status"]
    assert prisnd.cli("secret", "create", "smtp-password", "--value", "mail-pw").returncode == 0
    prisnd.wait_ready("notification-service", 1)
    r = wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=5), 10, message="the service answers")
    assert r.text == "mail-pw"


def test_a_job_naming_a_missing_secret_is_failed_until_the_secret_exists(prisnd, scripts):
    f = scripts("report.py", "import os\nprint(os.environ['TOKEN'])\n")
    p = prisnd.cli("deploy", f, "--name", "report", "--schedule", "0 3 * * *", "--secret", "report-token:TOKEN")
    assert p.returncode == 0, p.stderr
    assert "warning: secret 'report-token' not found in namespace 'default'; its runs fail until the secret is created or changed" in p.stderr
    assert prisnd.deployment("report")["status"]["phase"] == "Failed"
    row = [l for l in prisnd.cli("get", "apps", check=True).stdout.splitlines() if l.startswith("report ")][0]
    assert " Failed " in row, row
    assert prisnd.cli("secret", "create", "report-token", "--value", "t0k").returncode == 0
    status = prisnd.deployment("report")["status"]
    assert status["phase"] == "Idle" and status["message"] == "", status


def test_a_running_service_whose_restart_lacks_its_secret_keeps_serving_and_says_why(prisnd, scripts):
    """A restart or rollout that cannot start its instances keeps the earlier ones serving, as
    Kubernetes keeps the old ReplicaSet: the service is Running, not Failed, and says why."""
    port = free_port()
    assert prisnd.cli("secret", "create", "gone", "--value", "g1").returncode == 0
    f = scripts("svc.py", SECRET_SERVICE)
    p = prisnd.cli("deploy", f, "--port", str(port), "--name", "kept", "--replicas", "2",
                   "--secret", "gone:DATABASE_PASSWORD")
    assert p.returncode == 0, p.stderr
    prisnd.wait_ready("kept", 2)
    assert prisnd.cli("secret", "delete", "gone").returncode == 0
    p = prisnd.cli("deploy", f, "--port", str(port), "--name", "kept", "--replicas", "2",
                   "--secret", "gone:DATABASE_PASSWORD", "-e", "NEW=1")
    assert p.returncode == 0, p.stderr
    assert "warning: new instances cannot start: secret 'gone' not found" in p.stderr, p.stderr
    st = prisnd.deployment("kept")["status"]
    assert st["phase"] == "Running" and st["ready_replicas"] == 2, st
    assert st["message"].startswith("new instances cannot start: secret 'gone' not found"), st
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).text == "g1"
    assert prisnd.cli("secret", "create", "gone", "--value", "g2").returncode == 0  # the roll goes on
    wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=5).text == "g2", 20,
               message="the new generation to serve")


def test_unusable_secret_references_fail_a_job_at_deploy_with_the_reason(prisnd, scripts, tmp_path):
    """Every reference a run could not use (several keys, a NUL, too large for an environment
    variable) is said at deploy and shown as Failed, as a missing secret is."""
    (tmp_path / "a").write_text("A")
    (tmp_path / "big").write_text("x" * 200_000)
    assert prisnd.cli("secret", "create", "pair", "--from-file", f"a={tmp_path / 'a'}",
                      f"b={tmp_path / 'a'}").returncode == 0
    assert prisnd.cli("secret", "create", "huge", "--from-file", f"value={tmp_path / 'big'}").returncode == 0
    f = scripts("j.py", "print('ran')\n")
    for name, ref, said in [("several", "pair:X", "secret 'pair' has several keys; name one as pair/KEY:X"),
                            ("huge", "huge:X", "secret 'huge' key 'value' holds 200000 bytes: as X=value, "
                                               "more than an environment variable can carry")]:
        p = prisnd.cli("deploy", f, "--name", name, "--secret", ref)
        assert p.returncode == 0, p.stderr
        assert "warning: " + said in p.stderr, p.stderr
        st = prisnd.deployment(name)["status"]
        assert st["phase"] == "Failed" and said in st["message"], st
        p = prisnd.cli("trigger", name, "--wait")
        assert p.returncode == 1 and said in p.stderr, (p.stdout, p.stderr)


def test_secret_create_refuses_a_directory_and_keeps_value_bytes_exact(prisnd, scripts, tmp_path):
    (tmp_path / "dir").mkdir()
    p = prisnd.cli("secret", "create", "d", "--from-file", str(tmp_path / "dir"))
    assert p.returncode == 2 and "directory" in p.stderr.lower(), p.stderr
    assert prisnd.get("/api/v1/secrets/d").status_code == 404
    # bytes that are not UTF-8 travel as binaryData: the workload gets them as given
    p = subprocess.run([conftest.PRISN, "secret", "create", "raw", "--value", b"x\xffy"],
                       capture_output=True, env=dict(os.environ, PRISN_SERVER=prisnd.api), timeout=30)
    assert p.returncode == 0, p.stderr
    f = scripts("hex.py", "import os\nprint(os.environb[b'RAW'].hex())\n")
    assert prisnd.cli("deploy", f, "--name", "hex", "--secret", "raw:RAW").returncode == 0
    e = run_job(prisnd, "hex")
    assert exec_logs(prisnd, e["id"]).text == "78ff79\n"


def test_a_secrets_body_namespace_must_agree_with_the_query(prisnd):
    r = prisnd.post("/api/v1/secrets?namespace=x", {"name": "q1", "namespace": "y", "value": "v"})
    assert r.status_code == 422, r.text
    assert "namespace: 'y' does not match the namespace of the request, 'x'" in r.json()["error"]["message"]
    assert prisnd.get("/api/v1/secrets/q1?namespace=x").status_code == 404
    r = prisnd.post("/api/v1/secrets?namespace=x", {"name": "q1", "namespace": "x", "value": "v"})
    assert r.status_code == 201, r.text


# --- jobs ------------------------------------------------------------------------------------

BACKUP = "import os\nprint('backup done', os.environ.get('TARGET', 'all'))\n"


def test_retrigger_job_cli_and_curl_like_the_seed(prisnd, scripts):
    f = scripts("backup.py", BACKUP)
    p = prisnd.cli("deploy", f, "--name", "backup-job")
    assert p.returncode == 0, p.stderr
    dep = prisnd.deployment("backup-job")
    assert dep["type"] == "job" and dep["status"]["phase"] == "Idle"
    p = prisnd.cli("trigger", "backup-job")
    assert p.returncode == 0, p.stderr
    first = p.stdout.strip()
    assert prisnd.wait_execution(first)["status"] == "Completed"
    assert exec_logs(prisnd, first).text == "backup done all\n"

    curl = subprocess.run(
        ["curl", "-sS", "-w", "\n%{http_code}", "-X", "POST", f"{prisnd.api}/api/v1/executions",
         "-H", "Content-Type: application/json", "-d", '{"deployment_id": "backup-job"}'],
        capture_output=True, text=True, timeout=20)
    assert curl.returncode == 0, curl.stderr
    body, code = curl.stdout.rsplit("\n", 1)
    assert code == "201", curl.stdout
    second = json.loads(body)["id"]
    assert second != first
    e = prisnd.wait_execution(second)
    assert e["status"] == "Completed" and e["trigger"] == "api" and e["deployment_id"] == "backup-job"

    # deploy-system.sh's variant: no Content-Type header (curl sends a form type), server without scheme
    hostport = prisnd.api[len("http://"):]
    curl = subprocess.run(
        ["curl", "-sS", "-w", "\n%{http_code}", "-X", "POST", f"http://{hostport}/api/v1/executions",
         "-d", '{"deployment_id":"backup-job"}'], capture_output=True, text=True, timeout=20)
    body, code = curl.stdout.rsplit("\n", 1)
    assert code == "201", curl.stdout
    assert prisnd.wait_execution(json.loads(body)["id"])["status"] == "Completed"

    items = prisnd.get("/api/v1/executions?deployment=backup-job").json()["items"]
    assert len(items) == 3
    assert items[-1]["id"] == first
    assert prisnd.deployment("backup-job")["status"]["phase"] == "Idle"


def test_seed_prisn_client(prisnd, scripts):
    prisnd.cli("deploy", scripts("backup.py", BACKUP), "--name", "backup-job", check=True)
    port = free_port()
    prisnd.cli("deploy", scripts("web.py", HTTP_SERVICE), "--name", "web", "--port", str(port), check=True)
    client = PrisnClient(prisnd.api)

    exec_id = client.trigger("backup-job")
    result = client.wait_for_execution(exec_id, timeout=30)
    assert result["status"] == "Completed"
    assert f"Backup completed: {result['status']}" == "Backup completed: Completed"

    exec_id = client.trigger("backup-job", env={"TARGET": "db"})
    assert client.wait_for_execution(exec_id, timeout=30)["status"] == "Completed"
    assert exec_logs(prisnd, exec_id).text == "backup done db\n"

    names = sorted(d["name"] for d in client.list_deployments())
    assert names == ["backup-job", "web"]
    dep = client.get_deployment("backup-job")
    assert dep["name"] == "backup-job" and dep["type"] == "job"
    assert client.get_deployment("web")["port"] == port  # the seed's get_service_port()

    prisnd.wait_ready("web", 1)
    client.scale("web", 2)
    prisnd.wait_ready("web", 2)
    assert client.get_deployment("web")["replicas"] == 2
    with pytest.raises(requests.HTTPError):
        client.get_deployment("nope")
    with pytest.raises(requests.HTTPError):
        client.trigger("nope")


def test_execution_env_overrides_and_prisn_variables(prisnd, scripts):
    r = prisnd.post("/api/v1/deployments", {"name": "envjob", "runtime": "python3", "source": ENV_JOB,
                                            "env": {"MODE": "default"}})
    assert r.status_code == 201, r.text
    e = run_job(prisnd, "envjob")
    out = json.loads(exec_logs(prisnd, e["id"]).text)
    assert out["MODE"] == "default" and out["EXTRA"] is None
    assert out["PRISN_DEPLOYMENT"] == "envjob"
    assert out["PRISN_NAMESPACE"] == "default"
    assert out["PRISN_EXECUTION_ID"] == e["id"]
    assert out["PRISN_API"] and out["PRISN_API"].startswith("http")
    assert out["PRISN_INSTANCE"] is None

    e = run_job(prisnd, "envjob", env={"MODE": "override", "EXTRA": "x y=z"})
    out = json.loads(exec_logs(prisnd, e["id"]).text)
    assert out["MODE"] == "override" and out["EXTRA"] == "x y=z"
    # the override was for that run only
    e = run_job(prisnd, "envjob")
    assert json.loads(exec_logs(prisnd, e["id"]).text)["MODE"] == "default"
    assert prisnd.deployment("envjob")["env"] == {"MODE": "default"}

    # in another namespace
    r = prisnd.post("/api/v1/deployments?namespace=other", {"name": "envjob", "runtime": "python3", "source": ENV_JOB})
    assert r.status_code == 201, r.text
    r = prisnd.post("/api/v1/executions?namespace=other", {"deployment_id": "envjob"})
    assert r.status_code == 201, r.text
    e = prisnd.wait_execution(r.json()["id"])
    out = json.loads(exec_logs(prisnd, e["id"]).text)
    assert out["PRISN_NAMESPACE"] == "other" and out["PRISN_DEPLOYMENT"] == "envjob"
    assert e["namespace"] == "other"


def test_job_triggers_another_job_through_prisn_api(prisnd):
    assert prisnd.post("/api/v1/deployments", {"name": "reindex-job", "runtime": "python3",
                                               "source": "print('reindexed')\n"}).status_code == 201
    src = ("import json, os, urllib.request\n"
           "req = urllib.request.Request(os.environ['PRISN_API'] + '/api/v1/executions',\n"
           "    data=json.dumps({'deployment_id': 'reindex-job'}).encode(), method='POST',\n"
           "    headers={'Content-Type': 'application/json'})\n"
           "print(json.loads(urllib.request.urlopen(req, timeout=10).read())['id'])\n")
    r = prisnd.post("/api/v1/executions", {"source": src, "runtime": "python3"})
    assert r.status_code == 201
    e = prisnd.wait_execution(r.json()["id"])
    assert e["status"] == "Completed", (e, exec_logs(prisnd, e["id"]).text)
    child = exec_logs(prisnd, e["id"]).text.strip()
    c = prisnd.wait_execution(child)
    assert c["status"] == "Completed" and c["deployment_id"] == "reindex-job"


def test_job_timeout_from_the_deployment(prisnd):
    r = prisnd.put("/api/v1/deployments/slowjob", {"name": "slowjob", "runtime": "bash",
                                                  "source": "echo start\nsleep 30\necho never\n", "timeout": "1s"})
    assert r.status_code in (200, 201), r.text
    assert prisnd.deployment("slowjob")["timeout"] == "1s"
    started = time.monotonic()
    e = run_job(prisnd, "slowjob", timeout=20)
    assert time.monotonic() - started < 15
    assert e["status"] == "Failed", e
    assert e["error"].startswith("timeout"), e
    assert e["duration_ms"] is None or e["duration_ms"] < 10000
    assert exec_logs(prisnd, e["id"]).text == "start\n"


def test_failed_job_reports_exit_code(prisnd):
    prisnd.post("/api/v1/deployments", {"name": "fails", "runtime": "bash", "source": "echo bad >&2; exit 7\n"})
    e = run_job(prisnd, "fails")
    assert e["status"] == "Failed" and e["exit_code"] == 7 and e["error"], e
    assert exec_logs(prisnd, e["id"]).text == "bad\n"


def test_on_failure_job_is_retried_until_it_succeeds(prisnd, tmp_path):
    """restartPolicy on-failure: a failed run starts again (1 s, then 2 s later) in the same
    execution, which `prisn trigger --wait` follows to the end."""
    counter = tmp_path / "attempts"
    source = (f'n=$(( $(cat {counter} 2>/dev/null || echo 0) + 1 )); echo $n > {counter}\n'
              'echo "attempt $n"; [ "$n" -ge 3 ] || exit 4\n')
    r = prisnd.post("/api/v1/deployments", {"name": "flaky", "runtime": "bash", "source": source,
                                            "restartPolicy": "on-failure"})
    assert r.status_code == 201, r.text
    started = time.monotonic()
    p = prisnd.cli("trigger", "flaky", "--wait", timeout=60)
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert time.monotonic() - started >= 2.5  # 1 s and 2 s between the attempts
    e = prisnd.get("/api/v1/executions?deployment=flaky").json()["items"]
    assert len(e) == 1, e  # one execution, not one per attempt
    e = e[0]
    assert e["status"] == "Completed" and e["exit_code"] == 0 and e["attempts"] == 3, e
    log = exec_logs(prisnd, e["id"]).text
    assert log.startswith("attempt 1\nprisn: attempt 1 ended (exit code 4); attempt 2 of 7 in 1s"), log
    assert log.endswith("attempt 3\n") and log.count("prisn: attempt") == 2, log


def test_on_failure_retries_go_on_after_a_prisnd_crash(prisnd, tmp_path):
    counter = tmp_path / "attempts"
    source = (f'n=$(( $(cat {counter} 2>/dev/null || echo 0) + 1 )); echo $n > {counter}\n'
              '[ "$n" -ge 4 ] || exit 4\n')
    prisnd.post("/api/v1/deployments", {"name": "flaky", "runtime": "bash", "source": source,
                                        "restartPolicy": "on-failure"})
    exec_id = prisnd.post("/api/v1/executions", {"deployment_id": "flaky"}).json()["id"]
    wait_until(lambda: prisnd.get(f"/api/v1/executions/{exec_id}").json()["attempts"] == 2, 10,
               message="a second attempt")
    prisnd.kill9()  # while attempt 2 runs or the run waits for attempt 3
    prisnd.start()
    e = prisnd.wait_execution(exec_id, timeout=30)
    assert e["status"] == "Completed" and e["attempts"] == 4, e
    markers = [l for l in exec_logs(prisnd, exec_id).text.splitlines() if l.startswith("prisn: attempt")]
    assert [m.split(";")[0] for m in markers] == [f"prisn: attempt {n} ended (exit code 4)" for n in (1, 2, 3)], markers


def test_on_failure_retries_end_and_a_cancel_ends_them_at_once(prisnd):
    r = prisnd.post("/api/v1/deployments", {"name": "broken", "runtime": "bash", "source": "exit 5\n",
                                            "restartPolicy": "on-failure"})
    assert r.status_code == 201, r.text
    exec_id = prisnd.post("/api/v1/executions", {"deployment_id": "broken"}).json()["id"]
    wait_until(lambda: prisnd.get(f"/api/v1/executions/{exec_id}").json()["attempts"] >= 2, 10,
               message="a second attempt")
    e = prisnd.get(f"/api/v1/executions/{exec_id}").json()
    assert e["status"] == "Running", e  # between attempts it is still running
    wait_until(lambda: "pid" not in prisnd.get(f"/api/v1/executions/{exec_id}").json(), 3,
               message="no pid while it waits for attempt 3")
    started = time.monotonic()
    assert prisnd.post(f"/api/v1/executions/{exec_id}/cancel").status_code == 202
    e = prisnd.wait_execution(exec_id, timeout=10)
    assert time.monotonic() - started < 5
    assert e["status"] == "Failed" and e["error"] == "cancelled", e
    time.sleep(4.5)  # no attempt starts after the cancel
    assert prisnd.get(f"/api/v1/executions/{exec_id}").json()["attempts"] == e["attempts"]
    # restartPolicy never (a job's default): one attempt
    prisnd.post("/api/v1/deployments", {"name": "once", "runtime": "bash", "source": "exit 5\n"})
    e = run_job(prisnd, "once")
    assert e["status"] == "Failed" and e["exit_code"] == 5 and e["attempts"] == 1, e


def test_execution_history_is_capped_per_deployment(daemon_factory, tmp_path):
    cfg = tmp_path / "hist.yaml"
    cfg.write_text("supervisor: {executionHistory: 3}\n")
    d = daemon_factory(extra_args=["--config", str(cfg)])
    for name in ("capped", "other-job"):
        r = d.post("/api/v1/deployments", {"name": name, "runtime": "bash", "source": "echo run $PRISN_EXECUTION_ID\n"})
        assert r.status_code == 201, r.text
    other = run_job(d, "other-job")["id"]
    ids = []
    for _ in range(5):
        ids.append(run_job(d, "capped")["id"])
        time.sleep(0.01)
    items = d.get("/api/v1/executions?deployment=capped").json()["items"]
    assert [e["id"] for e in items] == list(reversed(ids[-3:])), [e["id"] for e in items]
    assert d.get(f"/api/v1/executions/{ids[0]}").status_code == 404
    assert d.get(f"/api/v1/executions/{ids[-1]}").status_code == 200
    # other deployments keep theirs
    assert [e["id"] for e in d.get("/api/v1/executions?deployment=other-job").json()["items"]] == [other]
    all_ids = [e["id"] for e in d.get("/api/v1/executions").json()["items"]]
    assert ids[0] not in all_ids and ids[1] not in all_ids and other in all_ids


# --- cron ------------------------------------------------------------------------------------

def test_cron_next_run_without_waiting(prisnd, scripts):
    f = scripts("nightly.py", "print('cleanup')\n")
    p = prisnd.cli("deploy", f, "--schedule", "0 3 * * *", "--name", "nightly-cleanup")
    assert p.returncode == 0, p.stderr
    d = prisnd.deployment("nightly-cleanup")
    assert d["type"] == "cron" and d["schedule"] == "0 3 * * *"
    assert d["last_run"] is None
    nxt = parse_time(d["next_run"]).astimezone()  # local time zone (SPEC §6.5)
    now = datetime.datetime.now().astimezone()
    assert now < nxt <= now + datetime.timedelta(days=1, minutes=1)
    assert (nxt.hour, nxt.minute, nxt.second) == (3, 0, 0), nxt
    assert d["status"]["phase"] == "Idle"
    # a cron deployment can be triggered by hand too
    e = run_job(prisnd, "nightly-cleanup")
    assert e["status"] == "Completed" and e["trigger"] == "api"

    r = prisnd.post("/api/v1/deployments", {"name": "hourly", "runtime": "python3", "source": "print(1)\n",
                                            "schedule": "@hourly"})
    assert r.status_code == 201, r.text
    nxt = parse_time(prisnd.deployment("hourly")["next_run"]).astimezone()
    assert (nxt.minute, nxt.second) == (0, 0) and nxt > now and nxt <= now + datetime.timedelta(hours=1, minutes=1)

    # get apps shows a NEXT RUN for cron deployments
    out = prisnd.cli("get", "apps", check=True).stdout
    assert "NEXT RUN" in out.splitlines()[0], out
    row = [l for l in out.splitlines() if l.startswith("nightly-cleanup ")][0]
    assert re.search(r"\d\d:\d\d", row), row


def test_cron_tick_runs_the_job(prisnd, scripts):
    f = scripts("task.py", "import os\nprint('tick from', os.environ['PRISN_DEPLOYMENT'])\n")
    p = prisnd.cli("deploy", f, "--schedule", "* * * * *", "--name", "ticker")
    assert p.returncode == 0, p.stderr
    d = prisnd.deployment("ticker")
    assert d["type"] == "cron"
    assert d["last_run"] is None
    now = datetime.datetime.now(datetime.timezone.utc)
    nxt = parse_time(d["next_run"])
    assert now < nxt <= now + datetime.timedelta(seconds=61), (now, nxt)
    assert nxt.second == 0

    out = prisnd.cli("get", "apps", check=True).stdout
    lines = out.splitlines()
    assert "NEXT RUN" in lines[0], out
    row = [l for l in lines if l.startswith("ticker ")][0]
    col = lines[0].index("NEXT RUN")
    assert row[col:].strip() and not row[col:].startswith("-"), out

    def cron_run():
        items = prisnd.get("/api/v1/executions?deployment=ticker").json()["items"]
        done = [e for e in items if e["trigger"] == "cron" and e["status"] in ("Completed", "Failed")]
        return done[0] if done else None

    e = wait_until(cron_run, timeout=max(5.0, (nxt - now).total_seconds() + 10), interval=0.5,
                   message="the first cron tick")
    assert e["status"] == "Completed", e
    assert exec_logs(prisnd, e["id"]).text == "tick from ticker\n"
    started = parse_time(e["started_at"] or e["created_at"])
    assert abs((started - nxt).total_seconds()) < 5, (started, nxt)
    d = wait_until(lambda: (lambda x: x if x["last_run"] else None)(prisnd.deployment("ticker")), 5,
                   message="last_run to be set")
    last = parse_time(d["last_run"])
    assert abs((last - nxt).total_seconds()) < 5, (last, nxt)
    assert parse_time(d["next_run"]) > nxt
    assert prisnd.cli("logs", "ticker", check=True).stdout == "tick from ticker\n"


def test_deleting_a_job_stops_its_running_execution_and_keeps_history(prisnd, scripts):
    from conftest import pid_alive
    f = scripts("sleepy.py", "import time\nprint('start', flush=True)\ntime.sleep(60)\nprint('never', flush=True)\n")
    prisnd.cli("deploy", f, "--name", "sleepy", check=True)
    exec_id = prisnd.cli("trigger", "sleepy", check=True).stdout.strip()
    assert exec_id.startswith("ex-"), exec_id
    e = wait_until(lambda: (lambda e: e if e["status"] == "Running" and e.get("pid") else None)(
        prisnd.get(f"/api/v1/executions/{exec_id}").json()), 15, message="execution running")
    pid = e["pid"]
    wait_until(lambda: "start" in exec_logs(prisnd, exec_id).text, 10, message="first output")
    assert pid_alive(pid)
    started = time.monotonic()
    p = prisnd.cli("delete", "sleepy")
    assert p.returncode == 0, p.stderr
    assert prisnd.get("/api/v1/deployments/sleepy").status_code == 404
    # A job left running after its deployment is gone could not be seen or cancelled by name.
    e = prisnd.wait_execution(exec_id, timeout=20)
    assert time.monotonic() - started < 15  # stopped, not left to finish its 60 s
    assert e["status"] == "Failed", e
    assert e["error"] == "cancelled: deployment deleted", e
    wait_until(lambda: not pid_alive(pid), 5, message=f"pid {pid} to be gone")
    assert exec_logs(prisnd, exec_id).text == "start\n"
    # the history stays, by id and in the list
    assert prisnd.get(f"/api/v1/executions/{exec_id}").status_code == 200
    assert exec_id in [x["id"] for x in prisnd.get("/api/v1/executions").json()["items"]]
    assert exec_id in [x["id"] for x in prisnd.get("/api/v1/executions?deployment=sleepy").json()["items"]]


def test_watch_announces_a_new_execution_as_added_then_modified(prisnd):
    """GET /api/v1/events?watch=true: an execution is ADDED when it starts, MODIFIED when it ends."""
    prisnd.post("/api/v1/deployments", {"name": "watched", "runtime": "bash", "source": "sleep 0.3\n"})
    events = []
    with requests.get(prisnd.url("/api/v1/events?watch=true"), stream=True, timeout=10) as stream:
        exec_id = prisnd.post("/api/v1/executions", {"deployment_id": "watched"}).json()["id"]
        for line in stream.iter_lines(decode_unicode=True):
            if not line.startswith("data: "):
                continue
            event = json.loads(line[len("data: "):])
            if event["kind"] == "execution" and event["object"]["id"] == exec_id:
                events.append((event["type"], event["object"]["status"]))
                if event["object"]["status"] == "Completed":
                    break
    assert events[0] == ("ADDED", "Running"), events
    assert events[-1] == ("MODIFIED", "Completed") and len(events) == 2, events


def test_watch_announces_a_new_service_first_as_added_and_filters_by_namespace(prisnd):
    events = []
    with requests.get(prisnd.url("/api/v1/events?watch=true&namespace=prod"), stream=True, timeout=10) as stream:
        # One in another namespace first: the stream asked for prod must not carry it.
        assert prisnd.post("/api/v1/deployments", {"name": "elsewhere", "runtime": "bash", "source": "sleep 100\n",
                                                   "replicas": 1}).status_code == 201
        r = prisnd.post("/api/v1/deployments?namespace=prod",
                        {"name": "svc", "runtime": "bash", "source": "sleep 100\n", "replicas": 1})
        assert r.status_code == 201, r.text
        for line in stream.iter_lines(decode_unicode=True):
            if not line.startswith("data: "):
                continue
            event = json.loads(line[len("data: "):])
            events.append((event["type"], event["object"]["namespace"], event["object"]["name"]))
            if event["object"]["status"]["ready_replicas"] == 1:
                break
    assert events[0] == ("ADDED", "prod", "svc"), events
    assert all(e[1:] == ("prod", "svc") for e in events), events
    # A namespace that cannot exist is a 422, as on every endpoint, not a stream silent for good.
    for bad in ("Bad", ""):
        r = requests.get(prisnd.url(f"/api/v1/events?watch=true&namespace={bad}"), timeout=10)
        assert r.status_code == 422 and r.json()["error"]["code"], (bad, r.status_code, r.text[:200])


def test_watch_ends_a_deleted_deployment_with_deleted(prisnd):
    """A job deleted while it runs: its run ends after the DELETED event, and that change
    must not announce the deployment again (a caching watcher would bring it back)."""
    prisnd.post("/api/v1/deployments", {"name": "longjob", "runtime": "bash", "source": "sleep 30\n"})
    exec_id = prisnd.post("/api/v1/executions", {"deployment_id": "longjob"}).json()["id"]
    wait_until(lambda: prisnd.get(f"/api/v1/executions/{exec_id}").json()["status"] == "Running", 10,
               message="the run started")
    events = []
    with requests.get(prisnd.url("/api/v1/events?watch=true"), stream=True, timeout=15) as stream:
        assert prisnd.delete("/api/v1/deployments/longjob").status_code == 200
        for line in stream.iter_lines(decode_unicode=True):
            if not line.startswith("data: "):
                continue
            event = json.loads(line[len("data: "):])
            if event["object"].get("name") == "sentinel":
                break
            events.append((event["type"], event["kind"], event["object"].get("status")))
            if event["kind"] == "execution" and event["object"]["status"] == "Failed":
                time.sleep(0.5)  # anything the run's end announces is sent by now; then a last event
                prisnd.post("/api/v1/deployments", {"name": "sentinel", "runtime": "bash", "source": "true\n"})
    deployment_events = [e for e in events if e[1] == "deployment"]
    assert deployment_events[-1][0] == "DELETED", events
    assert all(isinstance(status, (dict, str)) for _, _, status in events), events  # no stub without a status


def test_watch_sends_no_deployment_event_that_changes_nothing(prisnd):
    """A crash-looping instance reports its exit and its backoff: each event must change what
    a watcher shows, or `get -w` prints the same row twice."""
    seen = []
    with requests.get(prisnd.url("/api/v1/events?watch=true"), stream=True, timeout=15) as stream:
        r = prisnd.post("/api/v1/deployments", {"name": "flappy", "runtime": "bash", "type": "service",
                                                "source": "sleep 0.5; exit 3\n"})
        assert r.status_code == 201, r.text
        deadline = time.monotonic() + 6
        for line in stream.iter_lines(decode_unicode=True):
            if time.monotonic() > deadline:
                break
            if line.startswith("data: "):
                event = json.loads(line[len("data: "):])
                if event["kind"] == "deployment" and event["object"]["name"] == "flappy":
                    seen.append(event["object"])
    assert len(seen) >= 3, seen  # created, and at least one exit
    repeats = [a for a, b in zip(seen, seen[1:]) if a == b]
    assert not repeats, [(o["status"]["phase"], o["status"].get("ready_replicas")) for o in repeats]


def test_a_watcher_that_stops_reading_is_closed_not_buffered_for_ever(prisnd):
    """Each event carries the whole object: a client that never reads would otherwise hold a
    copy of every change in prisnd's memory for as long as it stays connected."""
    host, port = prisnd.api[len("http://"):].rsplit(":", 1)
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect((host, int(port)))
    stalled.sendall(b"GET /api/v1/events?watch=true HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        env = {f"V{i}": "x" * 120_000 for i in range(5)}
        for i in range(30):  # about 18 MB of events, more than a watcher may have waiting
            r = prisnd.put("/api/v1/deployments/fat", {"name": "fat", "runtime": "bash", "source": f"echo {i}\n",
                                                       "env": env})
            assert r.status_code in (200, 201), r.text[:200]
        stalled.settimeout(20)
        received = b""
        deadline = time.monotonic() + 30
        while not received.endswith(b"\r\n0\r\n\r\n"):  # now read: the response must end, saying why
            assert time.monotonic() < deadline, f"still streaming after {len(received)} bytes"
            chunk = stalled.recv(1 << 20)
            assert chunk, "closed before the response ended"
            received += chunk
        assert b"fell too far behind" in received[-4096:], received[-300:]
    finally:
        stalled.close()
    assert prisnd.get("/health").ok
