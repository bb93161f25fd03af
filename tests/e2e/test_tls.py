# SPDX-License-Identifier: MIT
"""TLS termination (SPEC §7.5) against a real prisnd: certificates from secrets chosen by SNI,
the config file's certificate for everything else, ALPN, X-Forwarded-Proto, rotation of a
secret under load with no failed handshake, SIGHUP reloading the config file's certificate,
and a certificate obtained with ACME HTTP-01 from Debian's pebble, started by the test."""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest
import requests

from conftest import free_port, wait_until
from test_ingress import ECHO


def make_cert(tmp_path, name, cn, sans):
    key, crt = tmp_path / f"{name}.key", tmp_path / f"{name}.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(crt), "-days", "2", "-subj", f"/CN={cn}",
                    "-addext", "subjectAltName=" + ",".join(f"DNS:{s}" for s in sans)],
                   check=True, capture_output=True)
    return crt, key


def tls_get(port, server_name, cafile, path="/"):
    """One HTTPS request with SNI `server_name`, verified against `cafile`; (cert CN, response)."""
    ctx = ssl.create_default_context(cafile=str(cafile))
    ctx.set_alpn_protocols(["http/1.1"])  # it speaks HTTP/1.1 below (h2: test_http2.py)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as s:
            cn = dict(x[0] for x in s.getpeercert()["subject"])["commonName"]
            alpn = s.selected_alpn_protocol()
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: {server_name}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    return cn, alpn, head.decode(), body


def secret(d, name, crt, key):
    r = d.put(f"/api/v1/secrets/{name}", {"name": name, "data": {"tls.crt": crt.read_text(), "tls.key": key.read_text()}})
    assert r.status_code in (200, 201), r.text


@pytest.fixture
def tls_daemon(daemon_factory, tmp_path):
    default_crt, default_key = make_cert(tmp_path, "default", "default.test", ["default.test"])
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"proxy": {"https": {"cert": str(default_crt), "key": str(default_key)}}}))
    d = daemon_factory(extra_args=["--https", "127.0.0.1:0", "--config", str(config)])
    assert d.https, "listen.json has no https address"
    d.https_port = int(d.https.rsplit(":", 1)[1])
    d.default_cert = (default_crt, default_key)
    d.config_path = config
    return d


def deploy_with_tls(d, tmp_path, name, hosts):
    body = {"name": name, "filename": "echo.py", "source": ECHO, "port": free_port(),
            "healthCheck": {"tcp": {}, "interval": "1s"}}
    assert d.post("/api/v1/deployments", body).status_code == 201
    d.wait_ready(name, 1)
    certs = {}
    tls = []
    for host in hosts:
        crt, key = make_cert(tmp_path, host, host, [host])
        secret(d, f"{host.split('.')[0]}-tls", crt, key)
        certs[host] = (crt, key)
        tls.append({"hosts": [host], "secretName": f"{host.split('.')[0]}-tls"})
    rules = [{"host": h, "paths": [{"path": "/", "deployment": name}]} for h in hosts]
    r = d.post("/api/v1/ingresses", {"name": name, "rules": rules, "tls": tls})
    assert r.status_code == 201, r.text
    return certs


def test_sni_chooses_among_secret_certificates_and_the_default(tls_daemon, tmp_path):
    d = tls_daemon
    certs = deploy_with_tls(d, tmp_path, "web", ["a.example.com", "b.example.com"])
    for host, (crt, _) in certs.items():
        cn, alpn, head, body = tls_get(d.https_port, host, crt)
        assert cn == host and alpn == "http/1.1"
        assert head.startswith("HTTP/1.1 200")
        seen = {k.lower(): v for k, v in json.loads(body)["headers"].items()}
        assert seen["x-forwarded-proto"] == "https" and seen["host"] == host
    # A name no secret covers gets the config file's certificate.
    cn, _, head, _ = tls_get(d.https_port, "default.test", d.default_cert[0])
    assert cn == "default.test" and head.startswith("HTTP/1.1 404")
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{d.https_port}", "-servername", "b.example.com",
                          "-alpn", "http/1.1", "-brief"], input="", capture_output=True, text=True, timeout=20)
    assert "b.example.com" in out.stderr + out.stdout and "TLSv1.3" in out.stderr + out.stdout
    old = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{d.https_port}", "-servername", "a.example.com",
                          "-tls1_1"], input="", capture_output=True, text=True, timeout=20)
    assert old.returncode != 0, "TLS 1.1 must be refused"


def test_secret_rotation_under_load_fails_no_handshake(tls_daemon, tmp_path):
    d = tls_daemon
    certs = deploy_with_tls(d, tmp_path, "rot", ["rot.example.com"])
    old_crt, _ = certs["rot.example.com"]
    new_crt, new_key = make_cert(tmp_path, "rot-new", "rot.example.com", ["rot.example.com"])
    both = tmp_path / "both.pem"
    both.write_text(old_crt.read_text() + new_crt.read_text())
    failures, serials, stop = [], set(), threading.Event()

    def load():
        while not stop.is_set():
            try:
                ctx = ssl.create_default_context(cafile=str(both))
                with socket.create_connection(("127.0.0.1", d.https_port), timeout=10) as raw:
                    with ctx.wrap_socket(raw, server_hostname="rot.example.com") as s:
                        serials.add(s.getpeercert()["serialNumber"])
            except (OSError, ssl.SSLError) as e:
                failures.append(repr(e))

    workers = [threading.Thread(target=load) for _ in range(3)]
    for w in workers:
        w.start()
    try:
        time.sleep(1)
        secret(d, "rot-tls", new_crt, new_key)
        out = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", str(new_crt)], capture_output=True, text=True)
        new_serial = out.stdout.strip().split("=", 1)[1].upper()
        wait_until(lambda: new_serial in serials, 10, message="the new certificate in handshakes")
        time.sleep(0.5)
    finally:
        stop.set()
        for w in workers:
            w.join()
    assert failures == [], failures[:3]
    assert len(serials) == 2


def test_sighup_reloads_the_config_file_certificate(tls_daemon, tmp_path):
    d = tls_daemon
    new_crt, new_key = make_cert(tmp_path, "default2", "renewed.test", ["renewed.test"])
    shutil.copy(new_crt, d.default_cert[0])
    shutil.copy(new_key, d.default_cert[1])
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: tls_get(d.https_port, "renewed.test", new_crt)[0] == "renewed.test", 10,
               message="the reloaded certificate")


# --- ACME with pebble ------------------------------------------------------------------------

def start(cmd, env=None, log=None):
    return subprocess.Popen(cmd, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env)


@pytest.fixture
def pebble(tmp_path):
    """Debian's pebble ACME test server, resolving *.example.test to 127.0.0.1 through a
    dnsmasq this fixture starts, validating HTTP-01 on the port the test hands it."""
    for tool in ("pebble", "dnsmasq"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            pytest.fail(f"{tool} is missing: packaging/install-deps.sh --test installs it")
    crt, key = make_cert(tmp_path, "pebble", "localhost", ["localhost"])
    dns_port = free_port()
    dnsmasq = start([shutil.which("dnsmasq") or "/usr/sbin/dnsmasq", "-k", "--no-resolv", "--no-hosts", "-C", "/dev/null",
                     f"--port={dns_port}", "--listen-address=127.0.0.1", "--bind-interfaces",
                     "--address=/example.test/127.0.0.1"] + (["--user=root"] if os.geteuid() == 0 else []))
    servers = []

    def launch(http_port, acme_port=None, mgmt_port=None):
        """Starts pebble (on the ports given, for a restart: it forgets its accounts)."""
        acme_port, mgmt_port = acme_port or free_port(), mgmt_port or free_port()
        config = tmp_path / "pebble.json"
        config.write_text(json.dumps({"pebble": {
            "listenAddress": f"127.0.0.1:{acme_port}", "managementListenAddress": f"127.0.0.1:{mgmt_port}",
            "certificate": str(crt), "privateKey": str(key), "httpPort": http_port, "tlsPort": free_port(),
            "ocspResponderURL": "", "externalAccountBindingRequired": False}}))
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="10")
        log = open(tmp_path / "pebble.log", "ab")
        proc = start(["pebble", "-config", str(config), "-dnsserver", f"127.0.0.1:{dns_port}"], env=env, log=log)
        servers.append(proc)
        ctx = ssl.create_default_context(cafile=str(crt))
        wait_until(lambda: socket.create_connection(("127.0.0.1", acme_port), timeout=1).close() or True, 10,
                   message="pebble listening")
        return {"directory": f"https://localhost:{acme_port}/dir", "ca": str(crt), "mgmt": mgmt_port, "ctx": ctx,
                "proc": proc, "acme_port": acme_port, "http_port": http_port}

    yield launch
    for p in servers + [dnsmasq]:
        if p.poll() is None:
            p.terminate()
            p.wait(10)


def acme_daemon(daemon_factory, tmp_path, pebble):
    """pebble, and a prisnd with ACME from it whose HTTP listener is where pebble validates."""
    http_port = free_port()
    server = pebble(http_port)
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"tls": {"acme": {"enabled": True, "email": "ops@example.test",
                                                   "directory": server["directory"], "caFile": server["ca"]}}}))
    d = daemon_factory(extra_args=["--http", f"127.0.0.1:{http_port}", "--https", "127.0.0.1:0",
                                   "--config", str(config)])
    return d, server, int(d.https.rsplit(":", 1)[1])


def test_acme_http01_with_pebble(daemon_factory, tmp_path, pebble):
    d, server, https_port = acme_daemon(daemon_factory, tmp_path, pebble)
    body = {"name": "shop", "filename": "echo.py", "source": ECHO, "port": free_port(),
            "healthCheck": {"tcp": {}, "interval": "1s"}}
    assert d.post("/api/v1/deployments", body).status_code == 201
    d.wait_ready("shop", 1)
    r = d.post("/api/v1/ingresses", {"name": "shop", "rules": [{"host": "shop.example.test",
                                                                "paths": [{"path": "/", "deployment": "shop"}]}]})
    assert r.status_code == 201, r.text
    # Pebble's root is made at start: fetch it to verify what prisn serves.
    root = requests.get(f"https://localhost:{server['mgmt']}/roots/0", verify=server["ca"], timeout=10).text
    chain = tmp_path / "pebble-root.pem"
    chain.write_text(root)

    def issued():
        try:
            return tls_get(https_port, "shop.example.test", chain)
        except (OSError, ssl.SSLError):
            return None

    cn, _, head, _ = wait_until(issued, 60, interval=0.5, message="a pebble-issued certificate")
    assert head.startswith("HTTP/1.1 200")
    assert (d.data_dir / "acme" / "shop.example.test.crt").exists()
    assert oct((d.data_dir / "acme" / "shop.example.test.key").stat().st_mode & 0o777) == "0o600"
    # After a restart the stored certificate is served at once, without a new order.
    d.stop()
    d.start()
    https_port = int(d.https.rsplit(":", 1)[1])
    cn, _, _, _ = tls_get(https_port, "shop.example.test", chain)
    assert cn == "shop.example.test"
    d.wait_ready("shop", 1)
    wait_until(lambda: tls_get(https_port, "shop.example.test", chain)[2].startswith("HTTP/1.1 200"), 10,
               message="the service behind the stored certificate")


def test_acme_registers_again_when_the_server_forgets_the_account(daemon_factory, tmp_path, pebble):
    """An ACME server that no longer knows prisn's account (it lost its state, or deactivated
    it) answers accountDoesNotExist: prisn registers its key again and goes on, without a restart."""
    d, server, https_port = acme_daemon(daemon_factory, tmp_path, pebble)
    body = {"name": "shop", "filename": "echo.py", "source": ECHO, "port": free_port()}
    assert d.post("/api/v1/deployments", body).status_code == 201

    def issued_for(host, root):
        def check():
            try:
                return tls_get(https_port, host, root)[0] == host
            except (OSError, ssl.SSLError):
                return False
        wait_until(check, 25, interval=0.5, message=f"a pebble-issued certificate for {host}")

    def root_of(srv):
        path = tmp_path / f"root-{srv['acme_port']}-{time.monotonic_ns()}.pem"
        path.write_text(requests.get(f"https://localhost:{srv['mgmt']}/roots/0", verify=srv["ca"], timeout=10).text)
        return path

    rule = lambda host: {"host": host, "paths": [{"path": "/", "deployment": "shop"}]}
    assert d.post("/api/v1/ingresses", {"name": "one", "rules": [rule("one.example.test")]}).status_code == 201
    issued_for("one.example.test", root_of(server))
    server["proc"].terminate()
    server["proc"].wait(10)
    again = pebble(server["http_port"], server["acme_port"], server["mgmt"])  # same address, no accounts
    assert d.post("/api/v1/ingresses", {"name": "two", "rules": [rule("two.example.test")]}).status_code == 201
    issued_for("two.example.test", root_of(again))  # within one try, not after a restart
    assert "accountDoesNotExist" not in d.read_log()


def served_certificate(port, server_name):
    """The PEM of the leaf certificate a handshake with SNI `server_name` gets, read with openssl."""
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", server_name],
                         input="", capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    begin = out.stdout.index("-----BEGIN CERTIFICATE-----")
    end = out.stdout.index("-----END CERTIFICATE-----", begin) + len("-----END CERTIFICATE-----")
    return out.stdout[begin:end]


def test_sighup_with_a_key_that_does_not_match_keeps_the_serving_certificate(tls_daemon, tmp_path):
    d = tls_daemon
    crt_path, key_path = d.default_cert
    old_pem = crt_path.read_text().strip()
    assert served_certificate(d.https_port, "default.test") == old_pem

    # Only the key changes (a renewal half-copied): the pair no longer matches.
    _, other_key = make_cert(tmp_path, "other", "other.test", ["other.test"])
    shutil.copy(other_key, key_path)
    d.proc.send_signal(signal.SIGHUP)
    # The rest of the configuration reloads; the pair that does not load is named in a warning.
    warning = wait_until(lambda: [l for l in d.read_log().splitlines() if "stays in use" in l], 10,
                         message="the warning about the pair")[0]
    assert str(crt_path) in warning and "does not match" in warning, warning
    for _ in range(3):  # new handshakes still succeed, with the certificate that was serving
        assert served_certificate(d.https_port, "default.test") == old_pem
        cn, _, head, _ = tls_get(d.https_port, "default.test", crt_path)
        assert cn == "default.test" and head.startswith("HTTP/1.1 404")
    assert d.proc.poll() is None

    # A matching pair is taken at the next SIGHUP.
    new_crt, new_key = make_cert(tmp_path, "renewed", "renewed.test", ["renewed.test"])
    shutil.copy(new_crt, crt_path)
    shutil.copy(new_key, key_path)
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: tls_get(d.https_port, "renewed.test", new_crt)[0] == "renewed.test", 10,
               message="the new certificate")
    assert served_certificate(d.https_port, "renewed.test") == new_crt.read_text().strip()


def test_https_turned_off_does_not_need_its_certificate_files(daemon_factory, tmp_path):
    """`enabled: false` (or `--https off`) serves no certificate, so files that are not there
    do not stop prisnd from starting; with HTTPS on, the same files are a startup error."""
    config = tmp_path / "config.yaml"
    missing = {"cert": str(tmp_path / "nope.crt"), "key": str(tmp_path / "nope.key")}
    config.write_text(json.dumps({"proxy": {"https": {"port": 0, "enabled": False, **missing}}}))
    d = daemon_factory(extra_args=["--config", str(config)])
    assert d.https is None
    assert d.get("/health").status_code == 200
    d.stop()

    on = daemon_factory(extra_args=["--config", str(config), "--https", "127.0.0.1:0"], start=False)
    on.start(wait=False)
    assert on.proc.wait(20) != 0
    assert "nope.crt" in on.read_log()


def test_a_failed_acme_order_is_not_started_twice(daemon_factory, tmp_path, pebble):
    """The challenge an order sets changes the routes, which asks ACME for the ingress hosts
    again while that order is under way: it must not queue a second order for the host."""
    server = pebble(free_port())  # pebble validates on a port where nothing answers: the order fails
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"tls": {"acme": {"enabled": True, "email": "ops@example.test",
                                                   "directory": server["directory"], "caFile": server["ca"]}}}))
    d = daemon_factory(extra_args=["--https", "127.0.0.1:0", "--config", str(config)])
    body = {"name": "shop", "filename": "echo.py", "source": ECHO, "port": free_port()}
    assert d.post("/api/v1/deployments", body).status_code == 201
    r = d.post("/api/v1/ingresses", {"name": "shop", "rules": [{"host": "fail.example.test",
                                                                "paths": [{"path": "/", "deployment": "shop"}]}]})
    assert r.status_code == 201, r.text
    retry = "certificate for fail.example.test: "
    wait_until(lambda: retry in d.read_log(), 30, message="the failed order")
    time.sleep(3)  # a second order, had one been queued, fails as fast
    failures = [l for l in d.read_log().splitlines() if retry in l]
    assert len(failures) == 1 and "trying again in 30s" in failures[0], failures


def cn_served(port, server_name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as s:
            der = s.getpeercert(binary_form=True)
    out = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject"], input=der, capture_output=True)
    return out.stdout.decode().strip().rsplit("=", 1)[1].strip()


def test_a_deployments_tls_certificate_goes_with_its_ingress_host(tls_daemon, tmp_path):
    """expose.tls.cert maps a certificate to the deployment's host; when the deployment is
    deleted, or its expose stops being an ingress, the certificate goes with the route."""
    d = tls_daemon
    crt, key = make_cert(tmp_path, "q", "q.example.com", ["q.example.com"])
    secret(d, "q-tls", crt, key)
    for change in ("delete", "nodePort"):
        body = {"name": "eq", "filename": "echo.py", "source": ECHO, "port": free_port(),
                "expose": {"type": "ingress", "host": "q.example.com", "tls": {"enabled": True, "cert": "q-tls"}}}
        assert d.put("/api/v1/deployments/eq", body).status_code in (200, 201)
        assert cn_served(d.https_port, "q.example.com") == "q.example.com"
        if change == "delete":
            assert d.delete("/api/v1/deployments/eq").status_code == 200
        else:
            body["expose"] = {"type": "nodePort", "nodePort": free_port()}
            r = d.put("/api/v1/deployments/eq", body)
            assert r.status_code == 200, r.text
        assert cn_served(d.https_port, "q.example.com") == "default.test", change


def test_a_tls_secret_that_loses_its_key_keeps_the_certificate_that_served(tls_daemon, tmp_path):
    d = tls_daemon
    deploy_with_tls(d, tmp_path, "lk", ["lk.example.com"])
    assert cn_served(d.https_port, "lk.example.com") == "lk.example.com"
    crt = tmp_path / "lk.example.com.crt"
    r = d.put("/api/v1/secrets/lk-tls", {"name": "lk-tls", "data": {"tls.crt": crt.read_text()}})
    assert r.status_code == 200, r.text
    assert cn_served(d.https_port, "lk.example.com") == "lk.example.com"
    assert "secret default/lk-tls: needs the keys tls.crt and tls.key; the certificate loaded from it before " \
           "stays in use" in d.read_log()
    assert d.delete("/api/v1/secrets/lk-tls").status_code == 200  # deleted: its certificate goes
    assert cn_served(d.https_port, "lk.example.com") == "default.test"


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_a_session_is_not_resumed_under_another_names_certificate(tls_daemon, tmp_path, version):
    """RFC 6066 §3: a session made for one name's certificate is not resumed for another's."""
    d = tls_daemon
    certs = deploy_with_tls(d, tmp_path, "rs", ["one.example.com", "two.example.com"])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.minimum_version = ctx.maximum_version = version
    ctx.set_alpn_protocols(["http/1.1"])

    def connect(name, session=None):
        with socket.create_connection(("127.0.0.1", d.https_port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=name, session=session) as s:
                # a request and its answer: TLS 1.3 tickets come after the handshake
                s.sendall(f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
                while s.recv(65536):
                    pass
                return s.session, s.session_reused, s.getpeercert(binary_form=True)

    session, _, _ = connect("one.example.com")
    _, reused, _ = connect("one.example.com", session)
    assert reused, "the same name resumes"
    _, reused, der = connect("two.example.com", session)
    assert not reused
    assert der == ssl.PEM_cert_to_DER_cert(certs["two.example.com"][0].read_text())


def test_certificate_settings_that_cannot_work_stop_the_start(daemon_factory, tmp_path):
    """As nginx does: a configured pair that does not load, half a pair, or an ACME caFile that
    is not there ends the start with the reason, instead of a prisnd that refuses every handshake."""
    good_crt, good_key = make_cert(tmp_path, "good", "good.test", ["good.test"])
    _, other_key = make_cert(tmp_path, "other", "other.test", ["other.test"])
    empty = tmp_path / "empty.key"
    empty.write_text("")

    def start_with(config, *extra):
        path = tmp_path / "config.yaml"
        path.write_text(config)
        d = daemon_factory(extra_args=["--config", str(path), "--https", "127.0.0.1:0", *extra], start=False)
        d.start(wait=False)
        return d.proc.wait(20), d.read_log()

    code, log = start_with(f"proxy:\n  https:\n    cert: {good_crt}\n")
    assert code == 2 and "config.yaml:3: proxy.https.key: give both cert and key" in log, log
    code, log = start_with(f"proxy:\n  https:\n    cert: {good_crt}\n    key: {other_key}\n")
    assert code == 1, log
    assert f"proxy.https (cert {good_crt}, key {other_key}): the key does not" in log, log
    code, log = start_with(f"proxy:\n  https:\n    cert: {good_crt}\n    key: {empty}\n")
    assert code == 1 and "the key is not in PEM form" in log, log
    code, log = start_with("tls:\n  acme:\n    enabled: true\n    directory: https://127.0.0.1:9/dir\n"
                           f"    caFile: {tmp_path / 'nope.pem'}\n")
    assert code == 1 and "tls.acme.caFile" in log and "nope.pem" in log, log


def test_acme_without_the_http_listener_is_warned_about(daemon_factory, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("tls:\n  acme:\n    enabled: true\n    directory: https://127.0.0.1:9/dir\n")
    d = daemon_factory(extra_args=["--config", str(config), "--https", "127.0.0.1:0", "--http", "off"])
    assert "tls.acme: the HTTP listener is off (--http off)" in d.read_log()


def test_apply_warns_of_a_tls_secret_that_does_not_exist_yet(tls_daemon, tmp_path):
    manifest = tmp_path / "ing.yaml"
    manifest.write_text("apiVersion: prisn.io/v1\nkind: Ingress\nmetadata: {name: later}\n"
                        "spec:\n  tls: [{hosts: [later.example.com], secretName: later-tls}]\n"
                        "  rules: [{host: later.example.com, paths: [{path: /, deployment: web}]}]\n")
    out = tls_daemon.cli("apply", "-f", str(manifest))
    assert out.returncode == 0 and out.stdout == "ingress/later created\n", (out.stdout, out.stderr)
    assert ("warning: ingress/later: TLS secret later-tls does not exist in namespace 'default' yet: its hosts have "
            "no certificate until it is created (with keys tls.crt and tls.key)") in out.stderr, out.stderr
    crt, key = make_cert(tmp_path, "later", "later.example.com", ["later.example.com"])
    secret(tls_daemon, "later-tls", crt, key)
    out = tls_daemon.cli("apply", "-f", str(manifest))
    assert out.returncode == 0 and "warning" not in out.stderr, out.stderr
