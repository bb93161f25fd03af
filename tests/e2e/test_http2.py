# SPDX-License-Identifier: MIT
"""HTTP/2 on the L7 router (SPEC §7.5 "HTTP/2 where it serves") against a real prisnd and real
Python HTTP/1.1 services, with real HTTP/2 clients: curl, h2load and nghttp (nghttp2-client), and
Debian's python3-h2 for what needs frame-level control. h2 is chosen by ALPN on the TLS
listener and spoken with prior knowledge (h2c) on the plain one; streams are relayed to
instances over HTTP/1.1 with the same routing, balancing, affinity and errors as HTTP/1.1."""
import json
import os
import socket
import ssl
import subprocess
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.settings
import pytest

from conftest import wait_until
from test_ingress import deploy, ingress, route, rss_kib
from test_tls import make_cert, secret


def curl(*args, timeout=60):
    return subprocess.run(["curl", "-sS", *args], capture_output=True, text=True, timeout=timeout)


class H2Client:
    """One HTTP/2 connection (python3-h2) to the router; requests run on streams of it."""

    def __init__(self, address, tls_name=None, cafile=None, validate=True):
        host, port = address
        raw = socket.create_connection((host, port), timeout=15)
        if tls_name:
            ctx = ssl.create_default_context(cafile=str(cafile))
            ctx.set_alpn_protocols(["h2"])
            raw = ctx.wrap_socket(raw, server_hostname=tls_name)
            assert raw.selected_alpn_protocol() == "h2"
        self.sock = raw
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                           validate_outbound_headers=validate, normalize_outbound_headers=validate)
        self.conn = h2.connection.H2Connection(config)
        self.conn.initiate_connection()
        self.conn.increment_flow_control_window(1 << 24)
        self.flush()
        self.responses = {}  # stream -> {"headers": dict, "body": bytes, "ended": bool, "reset": code}

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, authority, path, method="GET", headers=(), body=None, flush=True):
        sid = self.conn.get_next_available_stream_id()
        hdrs = [(":method", method), (":scheme", "http"), (":authority", authority), (":path", path), *headers]
        self.conn.send_headers(sid, hdrs, end_stream=body is None)
        if body is not None:  # in frames of the default maximum size; the windows must have room
            for at in range(0, len(body), 16384):
                self.conn.send_data(sid, body[at:at + 16384], end_stream=at + 16384 >= len(body))
        self.responses[sid] = {"headers": {}, "body": b"", "ended": False, "reset": None}
        if flush:
            self.flush()
        return sid

    def pump(self, until):
        while not until():
            data = self.sock.recv(1 << 16)
            if not data:
                raise ConnectionError("the router closed the connection")
            for e in self.conn.receive_data(data):
                r = self.responses.get(getattr(e, "stream_id", 0))
                if isinstance(e, h2.events.ResponseReceived):
                    r["headers"] = dict(e.headers)
                elif isinstance(e, h2.events.DataReceived):
                    r["body"] += e.data
                    self.conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
                elif isinstance(e, h2.events.StreamEnded):
                    r["ended"] = True
                elif isinstance(e, h2.events.StreamReset):
                    r["reset"] = e.error_code
                    r["ended"] = True
            self.flush()

    def wait(self, sid):
        self.pump(lambda: self.responses[sid]["ended"])
        return self.responses[sid]

    def close(self):
        self.sock.close()


def h2c_address(d):
    host, port = d.http[len("http://"):].rsplit(":", 1)
    return host, int(port)


def test_h2c_with_prior_knowledge_reaches_the_instance_over_http11(prisnd):
    host = route(prisnd, "plain2", 1)
    out = curl("--http2-prior-knowledge", "-H", f"Host: {host}", "-w", "\n%{http_version} %{http_code}",
               prisnd.http + "/hello?x=1")
    body, _, status = out.stdout.rpartition("\n")
    assert status == "2 200", out.stdout + out.stderr
    seen = json.loads(body)
    assert seen["path"] == "/hello?x=1"
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["host"] == host and headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    # An HTTP/1.1 client on the same port is served as before.
    out = curl("-H", f"Host: {host}", "-w", "\n%{http_version}", prisnd.http + "/")
    assert out.stdout.endswith("\n1.1")


def test_h2_is_chosen_by_alpn_on_the_tls_listener(daemon_factory, tmp_path):
    crt, key = make_cert(tmp_path, "default", "default.test", ["default.test"])
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"proxy": {"https": {"cert": str(crt), "key": str(key)}}}))
    d = daemon_factory(extra_args=["--https", "127.0.0.1:0", "--config", str(config)])
    port = int(d.https.rsplit(":", 1)[1])
    deploy(d, "secure")
    site_crt, site_key = make_cert(tmp_path, "site", "site.example.com", ["site.example.com"])
    secret(d, "site-tls", site_crt, site_key)
    ingress(d, "secure", [{"host": "site.example.com", "paths": [{"path": "/", "deployment": "secure"}]}],
            tls=[{"hosts": ["site.example.com"], "secretName": "site-tls"}])
    resolve = f"site.example.com:{port}:127.0.0.1"
    out = curl("--http2", "--cacert", str(site_crt), "--resolve", resolve, "-w", "\n%{http_version} %{http_code}",
               f"https://site.example.com:{port}/tls")
    body, _, status = out.stdout.rpartition("\n")
    assert status == "2 200", out.stdout + out.stderr
    assert {k.lower(): v for k, v in json.loads(body)["headers"].items()}["x-forwarded-proto"] == "https"
    # A client that offers only HTTP/1.1 still gets it.
    out = curl("--http1.1", "--cacert", str(site_crt), "--resolve", resolve, "-w", "\n%{http_version}",
               f"https://site.example.com:{port}/")
    assert out.stdout.endswith("\n1.1")
    s = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "site.example.com",
                        "-alpn", "h2,http/1.1"], input="", capture_output=True, text=True, errors="replace",
                       timeout=20)  # the session ticket's dump may hold bytes that are not UTF-8
    assert "ALPN protocol: h2" in s.stdout
    # Streams of one TLS connection, from python3-h2.
    c = H2Client(("127.0.0.1", port), tls_name="site.example.com", cafile=site_crt)
    sids = [c.request("site.example.com", f"/s{i}") for i in range(10)]
    assert all(c.wait(s)["headers"][":status"] == "200" for s in sids)
    c.close()


def test_many_streams_on_one_connection_are_balanced_over_the_replicas(prisnd):
    host = route(prisnd, "multi", 3, algorithm="round-robin")
    c = H2Client(h2c_address(prisnd))
    sids = [c.request(host, f"/slow?ms=200&i={i}") for i in range(60)]
    instances = []
    for s in sids:
        r = c.wait(s)
        assert r["headers"][":status"] == "200", r
        instances.append(json.loads(r["body"])["instance"])
    assert {n: instances.count(n) for n in set(instances)} == {"multi-0": 20, "multi-1": 20, "multi-2": 20}
    c.close()


def test_h2load_finishes_every_request(prisnd):
    host = route(prisnd, "loadh2", 2)
    out = subprocess.run(["h2load", "-n", "3000", "-c", "4", "-m", "16", "-H", f":authority: {host}",
                          prisnd.http + "/"], capture_output=True, text=True, timeout=120)
    assert "3000 succeeded, 0 failed, 0 errored, 0 timeout" in out.stdout, out.stdout
    assert "status codes: 3000 2xx" in out.stdout


def test_router_errors_over_h2(prisnd):
    deploy(prisnd, "errs")
    ingress(prisnd, "errs", [{"host": "errs.example.com", "paths": [{"path": "/", "deployment": "errs"},
                                                                    {"path": "/gone", "deployment": "missing"}]}])
    c = H2Client(h2c_address(prisnd))
    cases = [("nohost.example.com", "/", "404", "no route for nohost.example.com/"),
             ("errs.example.com", "/gone", "503", "missing"),
             ("errs.example.com", "/close", "502", "upstream")]
    for authority, path, status, text in cases:
        r = c.wait(c.request(authority, path))
        assert r["headers"][":status"] == status and text in r["body"].decode(), (authority, r)
        assert r["headers"]["content-type"].startswith("text/plain")
    r = c.wait(c.request("errs.example.com", "/gone", method="HEAD"))  # the router's header, no body
    assert r["headers"][":status"] == "503" and r["body"] == b"" and int(r["headers"]["content-length"]) > 0
    c.close()


def test_a_malformed_stream_gets_400_and_the_connection_goes_on(prisnd):
    host = route(prisnd, "strict", 1)
    c = H2Client(h2c_address(prisnd), validate=False)
    for bad in ([("X-Upper", "1")], [("x-a", "1\r\nx-injected: yes")], [("connection", "close")]):
        r = c.wait(c.request(host, "/", headers=bad))
        # A 400 that says why, then the stream error RFC 9113 §8.1.1 requires (PROTOCOL_ERROR).
        assert r["headers"].get(":status") == "400" and b"malformed request" in r["body"], (bad, r)
        assert r["reset"] == 1, (bad, r)
    r = c.wait(c.request(host, "/after"))
    assert r["headers"][":status"] == "200" and json.loads(r["body"])["path"] == "/after"
    c.close()


def test_bodies_stream_both_ways_over_h2(prisnd, tmp_path):
    host = route(prisnd, "bulk2", 1)
    size = 64 << 20
    before = rss_kib(prisnd.proc.pid)
    upload = tmp_path / "upload.bin"
    with open(upload, "wb") as f:
        for _ in range(size >> 20):
            f.write(os.urandom(1 << 20))
    # A known length goes through as Content-Length; stdin (no length) goes chunked.
    out = curl("--http2-prior-knowledge", "-H", f"Host: {host}", "--data-binary", f"@{upload}", prisnd.http + "/upload")
    assert json.loads(out.stdout)["bytes"] == size, out.stdout + out.stderr
    with open(upload, "rb") as f:
        out = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-H", f"Host: {host}", "-H",
                              "Content-Type: application/octet-stream", "--data-binary", "@-", prisnd.http + "/upload"],
                             stdin=f, capture_output=True, text=True, timeout=120)
    assert json.loads(out.stdout)["bytes"] == size, out.stdout + out.stderr
    out = curl("--http2-prior-knowledge", "-H", f"Host: {host}", "-o", "/dev/null", "-w", "%{size_download}",
               prisnd.http + f"/download?bytes={size}")
    assert out.stdout == str(size)
    out = curl("--http2-prior-knowledge", "-H", f"Host: {host}", "-o", "/dev/null", "-w", "%{size_download}",
               prisnd.http + f"/download?bytes={3 << 20}&chunked=1")
    assert out.stdout == str(3 << 20)
    grew = (rss_kib(prisnd.proc.pid) - before) / 1024
    if "ASAN_OPTIONS" not in os.environ:
        assert grew < 16, f"prisnd grew {grew:.1f} MiB relaying 256 MiB over HTTP/2"


def test_a_client_reset_ends_only_its_stream(prisnd):
    host = route(prisnd, "reset2", 1)
    c = H2Client(h2c_address(prisnd))
    big = c.request(host, f"/download?bytes={256 << 20}")
    c.pump(lambda: len(c.responses[big]["body"]) > 1 << 20)
    c.conn.reset_stream(big)
    c.flush()
    r = c.wait(c.request(host, "/next"))
    assert r["headers"][":status"] == "200" and json.loads(r["body"])["path"] == "/next"
    c.close()


def test_cookie_affinity_over_h2(prisnd):
    host = route(prisnd, "sticky2", 3, sessionAffinity={"enabled": True, "type": "cookie", "ttl": "1h"})
    c = H2Client(h2c_address(prisnd))
    first = c.wait(c.request(host, "/"))
    cookie = first["headers"]["set-cookie"].split(";")[0]
    name = json.loads(first["body"])["instance"]
    # HTTP/2 clients may split cookies into separate fields: the router joins them (RFC 9113 §8.2.3).
    for _ in range(6):
        r = c.wait(c.request(host, "/", headers=[("cookie", "a=1"), ("cookie", cookie)]))
        assert json.loads(r["body"])["instance"] == name and "set-cookie" not in r["headers"]
    c.close()


def test_a_slow_reader_is_served_by_flow_control(prisnd):
    """A client that grants a small window still gets the whole answer, at its own pace, while
    other streams on the connection go on."""
    host = route(prisnd, "slowread", 1)
    c = H2Client(h2c_address(prisnd))
    c.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 4096})
    c.flush()
    sids = [c.request(host, f"/download?bytes={1 << 20}") for _ in range(3)] + [c.request(host, "/small")]
    for s in sids:
        assert c.wait(s)["headers"][":status"] == "200"
    assert all(len(c.responses[s]["body"]) == 1 << 20 for s in sids[:3])
    c.close()


def test_a_connection_outlives_the_header_timeout_while_it_is_used(prisnd):
    """The router's 10 s header timeout bounds only the wait for the preface and first frames:
    a stream may take longer (up to the 60 s upstream timeout), and the connection goes on."""
    host = route(prisnd, "longh2", 1)
    c = H2Client(h2c_address(prisnd))
    r = c.wait(c.request(host, "/slow?ms=11000"))
    assert r["headers"][":status"] == "200", r
    r = c.wait(c.request(host, "/then"))
    assert r["headers"][":status"] == "200" and json.loads(r["body"])["path"] == "/then"
    c.close()


def test_bodies_the_router_answers_itself_do_not_use_up_the_connection_window(prisnd):
    """A body sent to a request the router answers without an instance (404 here) is dropped,
    and its bytes given back to the connection's flow-control window: 30 such uploads of 60 KiB
    (1.8 MiB, past the 1 MiB window) and then a real one go through on one connection."""
    host = route(prisnd, "window2", 1)
    c = H2Client(h2c_address(prisnd))
    assert c.wait(c.request(host, "/"))["headers"][":status"] == "200"  # the router's SETTINGS are in
    for _ in range(30):
        r = c.wait(c.request("nowhere.example.com", "/", method="POST", body=os.urandom(60 << 10)))
        assert r["headers"][":status"] == "404", r
    r = c.wait(c.request(host, "/upload", method="POST", body=os.urandom(60 << 10)))
    assert json.loads(r["body"])["bytes"] == 60 << 10
    c.close()


def test_bodies_of_reset_streams_do_not_use_up_the_connection_window(prisnd):
    """A client that sends a body and resets its stream at once leaves bytes the router never
    passes on; they are given back to the connection's window: 30 such uploads of 60 KiB
    (1.8 MiB, past the 1 MiB window) and then a real one go through on one connection."""
    host = route(prisnd, "resetbody2", 1)
    c = H2Client(h2c_address(prisnd))
    assert c.wait(c.request(host, "/"))["headers"][":status"] == "200"  # the router's SETTINGS are in
    for _ in range(30):
        sid = c.request(host, "/upload", method="POST", body=os.urandom(60 << 10), flush=False)
        c.conn.reset_stream(sid)
        c.flush()
        c.pump(lambda: c.conn.outbound_flow_control_window >= 60 << 10)
    r = c.wait(c.request(host, "/upload", method="POST", body=os.urandom(60 << 10)))
    assert json.loads(r["body"])["bytes"] == 60 << 10
    c.close()


def test_stopping_prisnd_sends_goaway_to_an_idle_connection(prisnd):
    host = route(prisnd, "bye2", 1)
    c = H2Client(h2c_address(prisnd))
    assert c.wait(c.request(host, "/"))["headers"][":status"] == "200"
    goaway = []
    stopper = threading.Thread(target=prisnd.stop)
    stopper.start()
    try:
        while not goaway:
            data = c.sock.recv(1 << 16)
            if not data:
                break
            goaway += [e for e in c.conn.receive_data(data) if isinstance(e, h2.events.ConnectionTerminated)]
    finally:
        stopper.join()
    assert goaway and goaway[0].error_code == 0 and goaway[0].last_stream_id == 1, goaway
    c.close()


def test_stopping_prisnd_lets_a_stream_in_flight_finish_then_sends_goaway(prisnd):
    host = route(prisnd, "drain2", 1)
    c = H2Client(h2c_address(prisnd))
    assert c.wait(c.request(host, "/"))["headers"][":status"] == "200"
    sid = c.request(host, "/slow?ms=1500")
    time.sleep(0.3)
    stopper = threading.Thread(target=prisnd.stop)
    stopper.start()
    goaway = []
    try:
        while not goaway:
            data = c.sock.recv(1 << 16)
            if not data:
                break
            for e in c.conn.receive_data(data):
                if isinstance(e, h2.events.ResponseReceived):
                    c.responses[sid]["headers"] = dict(e.headers)
                elif isinstance(e, h2.events.ConnectionTerminated):
                    goaway.append(e)
    finally:
        stopper.join()
    assert c.responses[sid]["headers"].get(":status") == "200"
    assert goaway and goaway[0].error_code == 0 and goaway[0].last_stream_id == sid, goaway
    c.close()


@pytest.mark.parametrize("kind", ["ping", "settings"])
def test_a_client_that_floods_pings_or_settings_without_reading_is_not_read_further(prisnd, kind):
    """Each PING and SETTINGS is answered; a client that never reads the answers must not make
    prisnd queue them without end (CVE-2019-9512, -9515): it stops being read instead."""
    before = rss_kib(prisnd.proc.pid)
    frame = (b"\x00\x00\x08\x06\x00\x00\x00\x00\x00" + b"12345678") if kind == "ping" else b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(h2c_address(prisnd))
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        s.settimeout(2)
        burst, sent, deadline = frame * 1000, 0, time.monotonic() + 6
        try:
            while time.monotonic() < deadline and sent < 400_000_000:
                s.sendall(burst)
                sent += len(burst)
        except socket.timeout:
            pass  # prisnd stopped reading: the flood is held back by TCP
        grown = (rss_kib(prisnd.proc.pid) - before) // 1024
    assert grown < 64, f"prisnd grew by {grown} MiB after {sent // (1 << 20)} MiB of {kind} frames"
    assert prisnd.get("/health").status_code == 200


def test_a_header_block_trickled_in_continuations_is_cut_at_the_header_timeout(prisnd):
    """The 10 s request-header limit holds over HTTP/2 too: CONTINUATION frames that keep
    coming do not extend it."""
    def frame(kind, flags, stream, payload):
        return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload
    with socket.create_connection(h2c_address(prisnd), timeout=5) as s:
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"") + frame(1, 0, 1, b"\x82"))
        s.settimeout(2)
        started, closed_after = time.monotonic(), None
        while closed_after is None and time.monotonic() - started < 20:
            try:
                s.sendall(frame(9, 0, 1, b"\x86"))  # one more CONTINUATION, still no END_HEADERS
                while s.recv(65536):  # SETTINGS, its ACK, at the end a GOAWAY; then the close
                    pass
                closed_after = time.monotonic() - started
            except socket.timeout:
                pass  # nothing more for now: trickle on
            except (ConnectionResetError, BrokenPipeError):
                closed_after = time.monotonic() - started
    assert closed_after is not None and closed_after < 14, closed_after
