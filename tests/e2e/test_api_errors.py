# SPDX-License-Identifier: MIT
"""REST API error handling and auth (SPEC §2 config, §4 errors/auth): bad input gets the right
status and the `{"error": {"code", "message"}}` object, never changes state, never crashes prisnd."""
import json
import os
import random
import re
import signal
import subprocess
import socket
import time

import pytest
import requests

from conftest import HTTP_SERVICE, free_port, wait_until

JOB = {"name": "base-job", "runtime": "python3", "filename": "job.py", "source": "print('job')\n"}


# --- helpers ---------------------------------------------------------------------------------

def assert_error(r, status, field=None, code=None):
    """The response has `status` and the SPEC §4 error object; the message names `field`."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text[:500]}"
    try:
        body = r.json()
    except ValueError:
        raise AssertionError(f"error body is not JSON: {r.text[:500]!r}")
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    err = body["error"]
    assert isinstance(err.get("code"), str) and err["code"], body
    assert isinstance(err.get("message"), str) and err["message"], body
    if field is not None:
        assert field in err["message"], f"message does not name {field!r}: {err['message']!r}"
    if code is not None:
        assert err["code"] == code, body
    return err


def snapshot(d):
    """Deployments in every namespace we use, without the volatile status."""
    out = []
    for ns in ("default", "other"):
        r = d.get(f"/api/v1/deployments?namespace={ns}")
        assert r.status_code == 200, r.text
        for item in r.json()["items"]:
            item = {k: v for k, v in item.items() if k not in ("status", "next_run", "last_run")}
            out.append(json.dumps(item, sort_keys=True))
    return sorted(out)


def assert_alive(d):
    assert d.proc.poll() is None, f"prisnd exited with {d.proc.returncode}:\n{d.read_log()[-3000:]}"
    r = d.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}, r.text


@pytest.fixture
def api(prisnd):
    """prisnd with one job deployment, checked unchanged and alive after the test."""
    r = prisnd.post("/api/v1/deployments", JOB)
    assert r.status_code == 201, r.text
    before = snapshot(prisnd)
    yield prisnd
    assert_alive(prisnd)
    assert snapshot(prisnd) == before, "bad input changed the deployments"


def raw(d, data, read_timeout=5.0, shutdown=False):
    """Sends raw bytes to the API port; returns whatever comes back (b'' if the peer closed)."""
    host, port = d.api[len("http://"):].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=read_timeout) as s:
        try:
            s.sendall(data)
            if shutdown:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        chunks = []
        deadline = time.monotonic() + read_timeout
        while time.monotonic() < deadline:
            try:
                c = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                break
            if not c:
                break
            chunks.append(c)
            if b"\r\n\r\n" in b"".join(chunks) and not shutdown:
                # got at least a header block; give the body a moment then stop
                s.settimeout(0.3)
        return b"".join(chunks)


def status_of(resp_bytes):
    m = re.match(rb"HTTP/1\.[01] (\d{3})", resp_bytes)
    return int(m.group(1)) if m else None


def post_raw(d, path, body, method="POST", content_type="application/json"):
    return requests.request(method, d.url(path), data=body, headers={"Content-Type": content_type}, timeout=10)


# --- malformed bodies ------------------------------------------------------------------------

@pytest.mark.parametrize("method,path", [
    ("POST", "/api/v1/deployments"),
    ("POST", "/api/v1/executions"),
    ("POST", "/api/v1/secrets"),
    ("PUT", "/api/v1/deployments/base-job"),
])
@pytest.mark.parametrize("body", ['{"name": "x",', "{not json}", "", '{"name": "x"} trailing',
                                  '{"name": "x", "port": 1e400}'])
def test_malformed_json_is_400(api, method, path, body):
    assert_error(post_raw(api, path, body, method), 400)


def test_malformed_json_sent_to_apply_is_400_about_json(api):
    r = post_raw(api, "/api/v1/apply", "{bad")
    assert_error(r, 400)
    assert "JSON" in r.json()["error"]["message"], r.text


def test_deployments_that_cannot_work_as_asked_are_422(prisnd):
    job = prisnd.post("/api/v1/deployments", {"name": "j", "runtime": "bash", "source": "true\n",
                                              "restartPolicy": "always"})
    assert job.status_code == 422 and job.json()["error"]["message"].startswith("restartPolicy: always is for services"), job.text
    portless = prisnd.post("/api/v1/deployments", {"name": "p", "runtime": "bash", "source": "sleep 60\n",
                                                   "replicas": 2, "expose": {"type": "ingress", "host": "p.test"}})
    assert portless.status_code == 422 and "expose: a service without a port" in portless.text, portless.text
    for check in ({"tcp": {}}, {"http": {"path": "/health"}}):  # no PORT to check: it would never pass
        r = prisnd.post("/api/v1/deployments", {"name": "p", "runtime": "bash", "source": "sleep 60\n", "replicas": 1,
                                                "healthCheck": check})
        assert_error(r, 422, field="the deployment has no port to check")
    r = prisnd.post("/api/v1/deployments", {"name": "p", "runtime": "bash", "source": "sleep 60\n", "port": free_port(),
                                            "timeout": "30m"})
    assert_error(r, 422, field="timeout: only jobs and cron jobs have a timeout")
    # An HTTP check's path goes into the request line: a space or CR/LF would split the request.
    for path in ("/h\r\nX-Evil: 1\r\n\r\nGET /smuggled", "/he alth"):
        r = prisnd.post("/api/v1/deployments", {"name": "p", "runtime": "bash", "source": "sleep 60\n", "port": free_port(),
                                                "healthCheck": {"http": {"path": path}}})
        assert_error(r, 422, field="healthCheck.http.path")
    assert prisnd.get("/api/v1/deployments").json()["items"] == []


def test_yaml_sent_to_apply_as_json_is_applied(prisnd):
    manifest = ("apiVersion: prisn.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: yaml-as-json\n"
                "spec:\n  target: {deployment: x}\n")
    r = post_raw(prisnd, "/api/v1/apply", manifest)  # Content-Type: application/json
    assert r.status_code == 200, r.text
    assert prisnd.get("/api/v1/networkpolicies/yaml-as-json").status_code == 200


def test_json_sent_as_text_plain_is_still_parsed(prisnd):
    body = json.dumps({"name": "plain", "runtime": "python3", "source": "print(1)\n"})
    r = post_raw(prisnd, "/api/v1/deployments", body, content_type="text/plain")
    assert r.status_code == 201, r.text
    assert prisnd.deployment("plain")["runtime"] == "python3"
    r = post_raw(prisnd, "/api/v1/executions", json.dumps({"deployment_id": "plain"}), content_type="text/plain")
    assert r.status_code == 201, r.text
    assert prisnd.wait_execution(r.json()["id"])["status"] == "Completed"
    r = post_raw(prisnd, "/api/v1/secrets", json.dumps({"name": "plain-secret", "value": "v"}),
                 content_type="text/plain")
    assert r.status_code == 201, r.text
    # no Content-Type at all
    r = requests.post(prisnd.url("/api/v1/executions"), data=json.dumps({"deployment_id": "plain"}), timeout=10)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("method,path", [
    ("POST", "/api/v1/deployments"),
    ("PUT", "/api/v1/deployments/base-job"),
    ("POST", "/api/v1/executions"),
    ("POST", "/api/v1/secrets"),
])
@pytest.mark.parametrize("body", ["[1, 2]", '"a string"', "42", "null", "true"])
def test_body_not_an_object_is_422(api, method, path, body):
    assert_error(post_raw(api, path, body, method), 422)


# --- invalid fields --------------------------------------------------------------------------

def job(**over):
    spec = {"name": "newjob", "runtime": "python3", "source": "print(1)\n"}
    spec.update(over)
    return {k: v for k, v in spec.items() if v is not None}


@pytest.mark.parametrize("name", ["Bad_Name", "a" * 64, "-x", "x-", "", "has space", "UPPER", "dot.ted"])
def test_invalid_names_are_422_naming_name(api, name):
    assert_error(api.post("/api/v1/deployments", job(name=name)), 422, field="name")
    assert_error(api.post("/api/v1/secrets", {"name": name, "value": "v"}), 422, field="name")


def test_name_of_63_chars_is_accepted(prisnd):
    r = prisnd.post("/api/v1/deployments", job(name="a" * 63))
    assert r.status_code == 201, r.text


def test_put_with_invalid_name_in_path_is_422(api):
    assert_error(api.put("/api/v1/deployments/Bad_Name", job(name="Bad_Name")), 422, field="name")


def test_missing_name_is_422(api):
    assert_error(api.post("/api/v1/deployments", job(name=None)), 422, field="name")


def test_missing_source_is_422(api):
    assert_error(api.post("/api/v1/deployments", job(source=None)), 422, field="source")
    assert_error(api.post("/api/v1/executions", {"runtime": "python3"}), 422)


def test_unknown_runtime_is_422_naming_runtime(api):
    assert_error(api.post("/api/v1/deployments", job(runtime="cobol")), 422, field="runtime")
    assert_error(api.post("/api/v1/executions", {"source": "x", "runtime": "cobol"}), 422, field="runtime")


def test_contradictions_are_422(api):
    p = free_port()
    assert_error(api.post("/api/v1/deployments", job(schedule="* * * * *", port=p)), 422)
    assert_error(api.post("/api/v1/deployments", job(type="cron", port=p, schedule="* * * * *")), 422)
    assert_error(api.post("/api/v1/deployments", job(type="job", schedule="* * * * *")), 422)
    assert_error(api.post("/api/v1/deployments", job(type="cron")), 422, field="schedule")
    assert_error(api.post("/api/v1/deployments", job(type="daemon")), 422, field="type")


@pytest.mark.parametrize("replicas", [-1, "3", 1.5, [1], {"n": 1}])
def test_bad_replicas_are_422(api, replicas):
    assert_error(api.post("/api/v1/deployments", job(replicas=replicas, port=free_port())), 422, field="replicas")


@pytest.mark.parametrize("schedule", ["61 * * * *", "* * * *", "not a cron", "* * * * * * *", "*/0 * * * *",
                                      "* 24 * * *", "* * 32 * *", "* * * 13 *", "* * * * funday", "@sometimes",
                                      "0 0 31 2 *", "0 0 30 2 *"])  # the last two: valid cron that never fires
def test_bad_cron_schedule_is_422(api, schedule):
    assert_error(api.post("/api/v1/deployments", job(schedule=schedule)), 422, field="schedule")


@pytest.mark.parametrize("env", [{"BAD=NAME": "x"}, {"": "x"}, ["A=B"], "A=B"])
def test_bad_env_is_422(api, env):
    assert_error(api.post("/api/v1/deployments", job(env=env)), 422, field="env")


def test_bad_port_and_timeout_are_422(api):
    assert_error(api.post("/api/v1/deployments", job(port=70000)), 422, field="port")
    assert_error(api.post("/api/v1/deployments", job(port=-5)), 422, field="port")
    assert_error(api.post("/api/v1/deployments", job(timeout="soon")), 422, field="timeout")
    # Past what a clock can hold, a timeout fired at once: refused instead.
    for too_long in ("2562048h", 9223372037, 2**64 - 1):
        assert_error(api.post("/api/v1/deployments", job(timeout=too_long)), 422, field="timeout")
        err = assert_error(api.post("/api/v1/executions", {"source": "echo hi", "runtime": "bash", "timeout": too_long}),
                           422, field="timeout")
        assert "longer than 100 years" in err["message"], err


def test_oversized_body_is_413_and_prisnd_still_serves(api):
    big = {"name": "huge", "runtime": "python3", "source": "#" * (9 * 1024 * 1024)}
    data = json.dumps(big).encode()
    host, port = api.api[len("http://"):].rsplit(":", 1)
    # a raw client that stops sending as soon as the server answers (the server may close early)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"POST /api/v1/deployments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: " + str(len(data)).encode() + b"\r\nConnection: close\r\n\r\n")
        s.setblocking(False)
        sent, answer = 0, b""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                c = s.recv(65536)
                if not c:
                    break
                answer += c
                if b"\r\n\r\n" in answer:
                    time.sleep(0.2)
                    try:
                        answer += s.recv(65536)
                    except OSError:
                        pass
                    break
            except BlockingIOError:
                pass
            except OSError:
                break
            if sent < len(data):
                try:
                    sent += s.send(data[sent:sent + 65536])
                except BlockingIOError:
                    time.sleep(0.005)
                except OSError:
                    time.sleep(0.05)
            else:
                time.sleep(0.01)
    assert status_of(answer) == 413, answer[:300]
    head, _, body = answer.partition(b"\r\n\r\n")
    if body:
        err = json.loads(body.decode())["error"]
        assert err["code"] and err["message"]
    assert_alive(api)
    # and through an ordinary client too (it may see the connection closed while sending)
    try:
        r = requests.post(api.url("/api/v1/executions"), data=data, timeout=20,
                          headers={"Content-Type": "application/json"})
        assert_error(r, 413)
    except requests.ConnectionError:
        pass
    assert_alive(api)


# --- not found, conflict, method -------------------------------------------------------------

NOT_FOUND = "deployment 'nope' not found in namespace 'default'"


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/api/v1/deployments/nope", None),
    ("DELETE", "/api/v1/deployments/nope", None),
    ("POST", "/api/v1/deployments/nope/scale", {"replicas": 2}),
    ("POST", "/api/v1/deployments/nope/restart", None),
    ("GET", "/api/v1/deployments/nope/logs", None),
    ("GET", "/api/v1/endpoints/nope", None),
    ("POST", "/api/v1/executions", {"deployment_id": "nope"}),
])
def test_unknown_deployment_is_404(api, method, path, body):
    r = requests.request(method, api.url(path), json=body, timeout=10)
    err = assert_error(r, 404)
    assert NOT_FOUND in err["message"], err
    assert err["code"] == "not_found", err


def test_unknown_deployment_in_other_namespace_names_it(api):
    r = api.get("/api/v1/deployments/base-job?namespace=other")
    err = assert_error(r, 404)
    assert "deployment 'base-job' not found in namespace 'other'" in err["message"]


def test_create_existing_is_409(api):
    err = assert_error(api.post("/api/v1/deployments", dict(JOB, source="print('changed')\n")), 409)
    assert "base-job" in err["message"]
    assert api.get("/api/v1/deployments/base-job?include=source").json()["source"] == JOB["source"]


def test_include_source_works_on_the_list_too_and_nothing_else_can_be_included(api):
    items = api.get("/api/v1/deployments?include=source").json()["items"]
    assert [d["source"] for d in items if d["name"] == "base-job"] == [JOB["source"]], items
    assert all("source" not in d for d in api.get("/api/v1/deployments").json()["items"])
    for bad in ("SOURCE", "bogus", "source,env", ""):
        assert_error(api.get(f"/api/v1/deployments?include={bad}"), 422, field="include")
        assert_error(api.get(f"/api/v1/deployments/base-job?include={bad}"), 422, field="include")


def test_create_existing_secret_is_409(prisnd):
    assert prisnd.post("/api/v1/secrets", {"name": "s1", "value": "a"}).status_code == 201
    assert_error(prisnd.post("/api/v1/secrets", {"name": "s1", "value": "b"}), 409)


def test_unknown_execution_is_404(api):
    assert_error(api.get("/api/v1/executions/ex-000000"), 404)
    assert_error(api.get("/api/v1/executions/ex-000000/logs"), 404)
    assert_error(api.post("/api/v1/executions/ex-000000/cancel"), 404)
    assert_error(api.get("/api/v1/secrets/nope"), 404)
    assert_error(api.delete("/api/v1/secrets/nope"), 404)


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/nothing", "/api/v2/deployments", "/api/v1/deployments/a/b/c",
                                  "/api/v1/deployments/base-job/frobnicate"])
def test_unknown_path_is_404(api, path):
    assert_error(api.get(path), 404)


@pytest.mark.parametrize("method,path", [
    ("PATCH", "/api/v1/deployments/base-job"),
    ("DELETE", "/api/v1/deployments"),
    ("PUT", "/api/v1/deployments"),
    ("DELETE", "/api/v1/executions"),
    ("GET", "/api/v1/deployments/base-job/scale"),
    ("POST", "/health"),
    ("POST", "/metrics"),
])
def test_wrong_method_is_405(api, method, path):
    r = requests.request(method, api.url(path), json={}, timeout=10)
    assert_error(r, 405)


def test_scale_without_replicas_is_422(prisnd):
    port = free_port()
    r = prisnd.post("/api/v1/deployments", {"name": "svc", "runtime": "python3", "source": HTTP_SERVICE,
                                            "port": port, "replicas": 1})
    assert r.status_code == 201, r.text
    before = snapshot(prisnd)
    assert_error(prisnd.post("/api/v1/deployments/svc/scale", {}), 422, field="replicas")
    assert_error(prisnd.post("/api/v1/deployments/svc/scale", {"replicas": -1}), 422, field="replicas")
    assert_error(prisnd.post("/api/v1/deployments/svc/scale", {"replicas": "two"}), 422, field="replicas")
    assert_error(post_raw(prisnd, "/api/v1/deployments/svc/scale", "{"), 400)
    assert snapshot(prisnd) == before
    assert prisnd.deployment("svc")["replicas"] == 1
    assert_alive(prisnd)


@pytest.mark.parametrize("ns", ["Bad", "has_underscore", "-x", "a" * 64])
def test_invalid_namespace_is_422(api, ns):
    assert_error(api.get(f"/api/v1/deployments?namespace={ns}"), 422, field="namespace")
    assert_error(api.post(f"/api/v1/deployments?namespace={ns}", job()), 422, field="namespace")
    assert_error(api.post(f"/api/v1/executions?namespace={ns}", {"deployment_id": "base-job"}), 422, field="namespace")


def test_triggering_a_service_is_422(prisnd):
    r = prisnd.post("/api/v1/deployments", {"name": "svc", "runtime": "python3", "source": HTTP_SERVICE,
                                            "port": free_port()})
    assert r.status_code == 201, r.text
    before = prisnd.get("/api/v1/executions").json()["items"]
    assert_error(prisnd.post("/api/v1/executions", {"deployment_id": "svc"}), 422)
    assert prisnd.get("/api/v1/executions").json()["items"] == before
    assert_alive(prisnd)


def test_a_run_naming_a_missing_secret_fails_naming_it(api):
    # The deployment may come before its secret (as in Kubernetes); a run without it cannot start.
    body = dict(job(secrets=[{"secret": "missing-secret", "env": "X"}]), name="needs-secret")
    r = api.post("/api/v1/deployments", body)
    assert r.status_code == 201, r.text
    r = api.post("/api/v1/executions", {"deployment_id": "needs-secret"})
    assert r.status_code == 201, r.text
    e = api.wait_execution(r.json()["id"])
    assert e["status"] == "Failed" and "secret 'missing-secret' not found" in e["error"], e
    assert api.delete("/api/v1/deployments/needs-secret").status_code == 200


def test_an_absolute_form_target_is_served_by_its_path(api):
    # RFC 9112 §3.2.2: a server must accept "GET http://host/path".
    for target, body in (("http://x/health", b'{"status":"ok"}'), ("HTTP://x/api/v1/deployments?namespace=none",
                                                                     b'{"items":[]}')):
        answer = raw(api, f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        assert status_of(answer) == 200 and body in answer, answer[:300]


# --- garbage on the wire ---------------------------------------------------------------------

def test_garbage_requests_leave_prisnd_serving(api):
    rnd = random.Random(1234)
    for _ in range(15):
        data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 4096)))
        answer = raw(api, data, read_timeout=2, shutdown=True)
        st = status_of(answer)
        assert st is None or 400 <= st < 500, answer[:200]
    assert_alive(api)

    # a 100 KB header
    req = b"GET /api/v1/deployments HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"
    st = status_of(raw(api, req, read_timeout=3))
    assert st is None or 400 <= st < 500, st
    assert_alive(api)

    # a truncated body with a larger Content-Length, then close
    for _ in range(5):
        host, port = api.api[len("http://"):].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(b"POST /api/v1/deployments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 5000\r\n\r\n{\"name\": \"trunc\", \"runtime\": \"python3\"")
    assert_alive(api)

    # malformed request lines and headers
    for bad in (b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\r\n\r\n\r\n",
                b"POST /api/v1/deployments HTTP/1.1\r\nContent-Length: -4\r\n\r\n",
                b"POST /api/v1/deployments HTTP/1.1\r\nContent-Length: zz\r\n\r\n",
                b"POST /api/v1/deployments HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
        st = status_of(raw(api, bad, read_timeout=2, shutdown=True))
        assert st is None or 400 <= st < 500, (bad, st)
    assert_alive(api)
    # a normal request still works
    assert api.get("/api/v1/deployments/base-job").status_code == 200


def test_slow_idle_connections_do_not_block_others(api):
    host, port = api.api[len("http://"):].rsplit(":", 1)
    socks = []
    try:
        for _ in range(20):
            s = socket.create_connection((host, int(port)), timeout=5)
            s.sendall(b"GET /api/v1/deployments HTTP/1.1\r\nHost: x\r\n")  # never finished
            socks.append(s)
        t0 = time.monotonic()
        assert api.get("/health", timeout=5).status_code == 200
        assert time.monotonic() - t0 < 2
    finally:
        for s in socks:
            s.close()


# --- auth ------------------------------------------------------------------------------------

@pytest.fixture
def authd(daemon_factory, tmp_path):
    cfg = tmp_path / "auth.yaml"
    cfg.write_text("api: {auth: required}\n")
    d = daemon_factory(extra_args=["--config", str(cfg)])
    token_file = d.data_dir / "admin.token"
    assert token_file.exists()
    d.token = token_file.read_text().strip()
    assert d.token
    return d


def test_admin_token_file_is_private(authd):
    mode = os.stat(authd.data_dir / "admin.token").st_mode & 0o777
    assert mode == 0o600, oct(mode)


def test_auth_required_rejects_missing_and_wrong_tokens(authd):
    for method, path, body in (("GET", "/api/v1/deployments", None),
                               ("POST", "/api/v1/deployments", job()),
                               ("GET", "/api/v1/executions", None),
                               ("GET", "/api/v1/secrets", None),
                               ("POST", "/api/v1/executions", {"source": "print(1)", "runtime": "python3"}),
                               ("GET", "/api/v1/deployments/nope", None)):
        r = requests.request(method, authd.url(path), json=body, timeout=10)
        assert_error(r, 401)
        for bad in ("Bearer wrong", "Bearer " + authd.token + "x", "Basic " + authd.token, authd.token,
                    "Bearer"):
            r = requests.request(method, authd.url(path), json=body, timeout=10, headers={"Authorization": bad})
            assert_error(r, 401)
    ok = {"Authorization": f"Bearer {authd.token}"}
    r = authd.get("/api/v1/deployments", headers=ok)
    assert r.status_code == 200, r.text
    assert r.json()["items"] == []   # nothing was created by the rejected requests
    assert authd.get("/api/v1/executions", headers=ok).json()["items"] == []


def test_auth_required_accepts_the_admin_token(authd):
    ok = {"Authorization": f"Bearer {authd.token}"}
    assert authd.get("/api/v1/deployments", headers=ok).status_code == 200
    r = authd.post("/api/v1/deployments", job(name="authjob"), headers=ok)
    assert r.status_code == 201, r.text
    r = authd.post("/api/v1/executions", {"deployment_id": "authjob"}, headers=ok)
    assert r.status_code == 201, r.text
    # the 404 for an unknown name still comes after auth
    assert_error(authd.get("/api/v1/deployments/nope", headers=ok), 404)


def test_a_browser_page_on_the_node_is_not_trusted_as_a_loopback_client(api, tmp_path):
    """A cross-site POST with text/plain needs no CORS preflight: trusted for its loopback
    peer, it ran code. A page's request (Origin, or Sec-Fetch-Site, which browsers send even
    after rebinding a name to 127.0.0.1) is refused with 403; a token still works; clients are
    unchanged, whatever Host they name."""
    marker = tmp_path / "csrf"
    body = json.dumps({"source": f"touch {marker}", "runtime": "bash"})
    for headers in ({"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
                    {"Origin": "null"},
                    {"Sec-Fetch-Site": "same-site"},
                    {"Host": "rebind.evil.example:7331", "Sec-Fetch-Site": "same-origin"}):
        r = requests.post(api.url("/api/v1/executions"), data=body, timeout=10,
                          headers={"Content-Type": "text/plain;charset=UTF-8", **headers})
        assert_error(r, 403, code="forbidden")
        assert_error(requests.get(api.url("/api/v1/secrets"), headers=headers, timeout=10), 403)
    time.sleep(0.5)
    assert not marker.exists(), "a page's request ran code"
    for host in ("localhost", "127.0.0.1:7331", "[::1]:7331", "x", "node1.example.com:7331"):
        assert requests.get(api.url("/api/v1/deployments"), headers={"Host": host}, timeout=10).status_code == 200
    assert requests.get(api.url("/api/v1/deployments"), headers={"Sec-Fetch-Site": "none"}, timeout=10).ok
    token = (api.data_dir / "admin.token").read_text().strip()
    r = requests.get(api.url("/api/v1/deployments"), timeout=10,
                     headers={"Origin": "http://evil.example", "Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text


def test_a_wrong_token_is_refused_from_loopback_too(api):
    """A token that is sent is checked: `prisn --token WRONG` must not work locally and fail remotely."""
    assert_error(requests.get(api.url("/api/v1/deployments"), headers={"Authorization": "Bearer wrong"},
                              timeout=10), 401)
    p = api.cli("--token", "wrong", "get", "apps")
    assert p.returncode == 1 and "invalid token; give prisn the token with --token or PRISN_TOKEN" in p.stderr, p.stderr
    token = (api.data_dir / "admin.token").read_text().strip()
    assert api.cli("--token", token, "get", "apps").returncode == 0


def test_refused_requests_are_logged_with_the_peer_and_the_token_is_not(authd):
    requests.get(authd.url("/api/v1/secrets"), headers={"Authorization": "Bearer guess-1"}, timeout=10)
    requests.get(authd.url("/api/v1/deployments"), timeout=10)
    log = authd.read_log()
    assert "refused GET /api/v1/secrets from 127.0.0.1: invalid token (401)" in log, log
    assert "refused GET /api/v1/deployments from 127.0.0.1: no token (401)" in log, log
    assert "guess-1" not in log


def test_sighup_reads_a_rotated_admin_token(authd):
    """An operator rotates the token by writing a new one, or by removing the file, and reloading."""
    token_file = authd.data_dir / "admin.token"
    token_file.write_text("rotated-token-0123456789\n")
    authd.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: authd.get("/api/v1/deployments", headers={"Authorization": "Bearer rotated-token-0123456789"})
               .status_code == 200, 10, message="the new token accepted after SIGHUP")
    assert_error(authd.get("/api/v1/deployments", headers={"Authorization": f"Bearer {authd.token}"}), 401)
    assert "the admin token changed" in authd.read_log()

    token_file.unlink()
    authd.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: token_file.exists() and token_file.read_text().strip(), 10, message="a new admin.token")
    fresh = token_file.read_text().strip()
    assert fresh != "rotated-token-0123456789" and os.stat(token_file).st_mode & 0o777 == 0o600
    wait_until(lambda: authd.get("/api/v1/deployments", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200,
               10, message="the made token accepted")


def test_health_stays_open_without_token(authd):
    r = authd.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_cli_with_token(authd, scripts):
    p = authd.cli("get", "apps")
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert p.stderr.strip()
    p = authd.cli("get", "apps", env={"PRISN_TOKEN": authd.token})
    assert p.returncode == 0, p.stderr
    p = authd.cli("--token", authd.token, "get", "apps")
    assert p.returncode == 0, p.stderr
    f = scripts("tok.py", "print('with token')\n")
    p = authd.cli("--token", authd.token, "deploy", f, "--name", "tok")
    assert p.returncode == 0, p.stderr
    p = authd.cli("trigger", "tok", "--wait", env={"PRISN_TOKEN": authd.token})
    assert p.returncode == 0, p.stderr
    assert "with token" in p.stdout
    p = authd.cli("--token", "wrong", "get", "apps")
    assert p.returncode == 1


# --- config errors ---------------------------------------------------------------------------

def _start_expect_exit(daemon_factory, cfg_path):
    d = daemon_factory(extra_args=["--config", str(cfg_path)], start=False)
    d.start(wait=False)
    try:
        rc = d.proc.wait(15)
    except Exception:
        d.stop()
        raise AssertionError("prisnd kept running with a bad config file")
    d.log.close()
    return rc, d.read_log()


def test_config_unknown_key_exits_2_naming_key_file_and_line(daemon_factory, tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("api:\n  auth: loopback\n  bogusKey: 1\n")
    rc, log = _start_expect_exit(daemon_factory, cfg)
    assert rc == 2, log
    assert "bogusKey" in log, log
    assert str(cfg) in log, log
    assert re.search(r"(:3\b|line 3\b)", log), log


def test_config_unknown_top_level_key_and_wrong_type(daemon_factory, tmp_path):
    cfg = tmp_path / "bad2.yaml"
    cfg.write_text("# comment\nfrobnicate: true\n")
    rc, log = _start_expect_exit(daemon_factory, cfg)
    assert rc == 2, log
    assert "frobnicate" in log and str(cfg) in log, log
    assert re.search(r"(:2\b|line 2\b)", log), log

    cfg3 = tmp_path / "bad3.yaml"
    cfg3.write_text("supervisor:\n  executionHistory: lots\n")
    rc, log = _start_expect_exit(daemon_factory, cfg3)
    assert rc == 2, log
    assert "executionHistory" in log and str(cfg3) in log, log
    assert re.search(r"(:2\b|line 2\b)", log), log


# --- request targets, HEAD, query and env validation -----------------------------------------

def send_as_is(d, method, target):
    """Sends `target` byte for byte (requests would re-quote a broken %-escape); returns
    (status, headers, body)."""
    import http.client
    host, port = d.api[len("http://"):].rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, target)
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def assert_raw_error(status, body, want_status, code=None):
    assert status == want_status, (status, body[:500])
    err = json.loads(body)["error"]
    assert isinstance(err.get("message"), str) and err["message"], err
    if code is not None:
        assert err["code"] == code, err
    return err


def test_broken_percent_escapes_are_400_and_act_on_nothing(prisnd):
    r = prisnd.post("/api/v1/deployments", {"name": "victim", "source": "print(1)", "runtime": "python3"})
    assert r.status_code == 201, r.text
    # Decoding "prod%zz" leniently could fall back to some namespace and delete there.
    st, _, body = send_as_is(prisnd, "DELETE", "/api/v1/deployments/victim?namespace=prod%zz")
    assert_raw_error(st, body, 400, code="bad_request")
    assert prisnd.get("/api/v1/deployments/victim").status_code == 200
    st, _, body = send_as_is(prisnd, "GET", "/api/v1/deployments?x=%zz&namespace=default")
    assert_raw_error(st, body, 400, code="bad_request")
    st, _, body = send_as_is(prisnd, "GET", "/api/v1/deployments/vic%zztim")
    assert_raw_error(st, body, 400, code="bad_request")
    st, _, body = send_as_is(prisnd, "DELETE", "/api/v1/deployments/vic%zztim")
    assert_raw_error(st, body, 400, code="bad_request")
    # a truncated escape at the very end is just as broken
    st, _, body = send_as_is(prisnd, "GET", "/api/v1/deployments?namespace=default%2")
    assert_raw_error(st, body, 400, code="bad_request")
    assert prisnd.deployment("victim")["name"] == "victim"
    # and a well-formed escape still decodes
    st, _, body = send_as_is(prisnd, "GET", "/api/v1/deployments/vic%74im")
    assert st == 200 and json.loads(body)["name"] == "victim", (st, body[:300])
    assert_alive(prisnd)


def test_auth_required_challenge_and_case_insensitive_scheme(authd):
    r = authd.get("/api/v1/deployments")
    assert_error(r, 401)
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), dict(r.headers)
    # RFC 9110: the auth scheme is case-insensitive
    for scheme in ("bearer", "BEARER"):
        r = authd.get("/api/v1/deployments", headers={"Authorization": f"{scheme} {authd.token}"})
        assert r.status_code == 200, (scheme, r.status_code, r.text)
    r = authd.get("/api/v1/deployments", headers={"Authorization": "bearer wrong"})
    assert_error(r, 401)


def test_head_is_get_without_a_body(api):
    g = api.get("/health")
    h = requests.head(api.url("/health"), timeout=10)
    assert h.status_code == 200
    assert h.content == b""
    assert int(h.headers["Content-Length"]) == len(g.content), (dict(h.headers), g.content)
    h = requests.head(api.url("/api/v1/deployments"), timeout=10)
    assert h.status_code == 200 and h.content == b""
    # the connection stays usable after a HEAD: no body bytes were left on the wire
    with requests.Session() as s:
        assert s.head(api.url("/api/v1/deployments/base-job"), timeout=10).status_code == 200
        r = s.get(api.url("/api/v1/deployments/base-job"), timeout=10)
        assert r.status_code == 200 and r.json()["name"] == "base-job"
    r = requests.patch(api.url("/api/v1/deployments"), json={}, timeout=10)
    assert_error(r, 405)
    allow = [m.strip() for m in r.headers.get("Allow", "").split(",")]
    assert "GET" in allow and "HEAD" in allow, r.headers.get("Allow")


def test_logs_since_in_the_future_is_422_naming_since(api):
    r = api.post("/api/v1/executions", {"deployment_id": "base-job"})
    assert r.status_code == 201, r.text
    exec_id = r.json()["id"]
    api.wait_execution(exec_id)
    since = "2300-01-01T00:00:00Z"
    assert_error(api.get(f"/api/v1/deployments/base-job/logs?since={since}"), 422, field="since")
    assert_error(api.get(f"/api/v1/executions/{exec_id}/logs?since={since}"), 422, field="since")
    # a past `since` is fine and still returns the output
    r = api.get(f"/api/v1/executions/{exec_id}/logs?since=2000-01-01T00:00:00Z")
    assert r.status_code == 200 and r.text == "job\n", r.text
    # a date that does not exist, and a `follow` that is neither true nor false, are 422s too
    assert_error(api.get(f"/api/v1/executions/{exec_id}/logs?since=2026-02-30T00:00:00Z"), 422, field="since")
    assert_error(api.get(f"/api/v1/executions/{exec_id}/logs?follow=maybe"), 422, field="follow")
    r = api.get(f"/api/v1/executions/{exec_id}/logs?follow=TRUE")  # any case; it has ended, so this ends
    assert r.status_code == 200 and r.text == "job\n", r.text


@pytest.mark.parametrize("name", ["BAD-NAME", "1ST"])
def test_run_with_an_invalid_env_name_is_422_naming_it(api, name):
    before = api.get("/api/v1/executions").json()["items"]
    r = api.post("/api/v1/executions", {"source": "print(1)", "runtime": "python3", "env": {name: "x"}})
    err = assert_error(r, 422)
    assert err["message"].startswith(f"env.{name}"), err
    assert api.get("/api/v1/executions").json()["items"] == before  # nothing was started


# --- actions and query parameters ------------------------------------------------------------

def test_an_action_that_takes_no_body_refuses_one_instead_of_ignoring_it(api):
    gen = api.deployment("base-job")["generation"]
    path = "/api/v1/deployments/base-job/restart"
    err = assert_error(api.post(path, {"replicas": 5}), 422, field="replicas: unknown field")
    assert "/api/v1/deployments/base-job/scale" in err["message"], err
    assert_error(requests.post(api.url(path), data="garbage", timeout=10), 400)
    assert api.deployment("base-job")["generation"] == gen  # nothing restarted
    # No body, or an empty object, is judged on the action alone (a job has no instances to restart).
    bare = requests.post(api.url(path), timeout=10)
    assert api.post(path, {}).json() == bare.json() and "body" not in bare.text, bare.text
    ex = api.post("/api/v1/executions", {"source": "import time; time.sleep(30)", "runtime": "python3"}).json()["id"]
    assert_error(api.post(f"/api/v1/executions/{ex}/cancel", {"force": True}), 422, field="force")
    assert api.get(f"/api/v1/executions/{ex}").json()["status"] in ("Pending", "Running")
    assert requests.post(api.url(f"/api/v1/executions/{ex}/cancel"), timeout=10).status_code == 202


def test_an_execution_asked_for_in_another_namespace_is_not_found(api):
    ex = api.post("/api/v1/executions", {"source": "print(1)", "runtime": "python3"}).json()["id"]
    api.wait_execution(ex)
    for path in (f"/api/v1/executions/{ex}", f"/api/v1/executions/{ex}/logs"):
        assert api.get(path).status_code == 200
        assert api.get(path + "?namespace=default").status_code == 200
        assert_error(api.get(path + "?namespace=other"), 404, field="not found in namespace 'other'")
    assert_error(api.post(f"/api/v1/executions/{ex}/cancel?namespace=other"), 404)


@pytest.mark.parametrize("path, field", [
    ("/api/v1/events?watch=maybe", "watch"),
    ("/api/v1/events?watch=false", "watch"),
    ("/api/v1/k8s/manifests?all=maybe", "all"),
    ("/api/v1/k8s/manifests?deployment=", "deployment"),
    ("/api/v1/k8s/manifests?deployment=base-job&all=true", "all"),
    ("/api/v1/executions?deployment=NO%20PE", "deployment"),
    ("/api/v1/deployments/base-job/logs?tail=99999999999999999999", "tail: too large"),
])
def test_query_parameters_are_checked(api, path, field):
    assert_error(api.get(path, timeout=5), 422, field=field)


@pytest.mark.parametrize("framing", [b"HTTP/1.1\r\nTransfer-Encoding: gzip", b"HTTP/1.1\r\nTransfer-Encoding: chunked, identity",
                                     b"HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked"],
                         ids=["gzip", "chunked-then-identity", "http10-chunked"])
def test_a_body_of_unknown_length_is_400_and_closes_so_nothing_is_smuggled(api, framing):
    """RFC 9112 §6.3: a Transfer-Encoding not ending in chunked leaves the length unknown; the
    bytes after the header must not be served as a request of their own."""
    smuggled = (b"POST /api/v1/secrets HTTP/1.1\r\nHost: x\r\nContent-Length: 31\r\nConnection: close\r\n\r\n"
                b'{"name":"smuggled","value":"x"}')
    out = raw(api, b"POST /api/v1/deployments " + framing + b"\r\nHost: x\r\n\r\n" + smuggled)
    assert status_of(out) == 400 and len(re.findall(rb"HTTP/1\.[01] \d{3} ", out)) == 1, out[:400]
    assert api.get("/api/v1/secrets/smuggled").status_code == 404


def test_a_manifest_that_is_not_utf8_is_400_and_publishes_nothing(api):
    """A YAML file saved as Latin-1 used to be a 500 that left its port published."""
    port = free_port()
    body = (b"apiVersion: prisn.io/v1\nkind: Deployment\nmetadata: {name: latin}\n"
            b"spec: {runtime: python3, source: x, port: " + str(port).encode() + b", env: {CITY: caf\xe9}}\n")
    r = requests.post(api.url("/api/v1/apply"), data=body, headers={"Content-Type": "application/yaml"}, timeout=10)
    err = assert_error(r, 400)
    assert "line 4: not UTF-8 text" in err["message"], err
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))  # nothing was published


def test_out_of_descriptors_prisnd_neither_spins_nor_stops_answering_dns(prisnd):
    """EMFILE lasts until a connection closes: an accept retried at once spun a core and starved
    DNS over UDP, which needs no new descriptor."""
    if "ASAN_OPTIONS" in os.environ:
        # UBSan itself needs descriptors for its checks (it aborted here with "invalid vptr" in
        # boost::system's error category, memory it could not read): the release build is tested.
        pytest.skip("the sanitizers' runtime cannot work out of descriptors")
    import dns.message
    import dns.query
    pid = prisnd.proc.pid
    subprocess.run(["prlimit", f"--pid={pid}", "--nofile=256:256"], check=True)  # util-linux, in every Debian
    held = []
    try:
        for _ in range(300):  # more than it may open
            try:
                held.append(socket.create_connection(("127.0.0.1", int(prisnd.api.rsplit(":", 1)[1])), timeout=2))
            except OSError:
                break
        time.sleep(0.5)

        def cpu_seconds():
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        before = cpu_seconds()
        time.sleep(2)
        assert cpu_seconds() - before < 0.5, "prisnd spins while out of descriptors"
        answer = dns.query.udp(dns.message.make_query("ns.prisn.local", "A"), prisnd.dns[0], port=prisnd.dns[1], timeout=3)
        assert answer.answer, answer
    finally:
        for s in held:
            s.close()
    wait_until(lambda: requests.get(prisnd.url("/health"), timeout=2).ok, 15, message="serving again")
