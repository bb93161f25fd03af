# SPDX-License-Identifier: MIT
"""prisn DNS (SPEC §7.2) against a real prisnd with real services, asked by real DNS clients:
dnspython and dig. Records follow scaling and health; NXDOMAIN vs NODATA; TC and TCP;
forwarding to a dnsmasq upstream this test starts; malformed packets; workloads' resolv.conf."""
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
import requests

from conftest import HTTP_SERVICE, free_port, wait_until

# An HTTP service whose /health fails while the file $SICK_DIR/sick-$PRISN_INSTANCE exists.
TOGGLE_SERVICE = """\
import os
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
SICK = os.path.join(os.environ["SICK_DIR"], "sick-" + os.environ["PRISN_INSTANCE"])
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        status = 500 if self.path == "/health" and os.path.exists(SICK) else 200
        body = (os.environ["PRISN_INSTANCE"] + "\\n").encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
ThreadingHTTPServer.allow_reuse_address = True
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


def ask(d, name, rdtype="A", tcp=False, edns=False, payload=1232, timeout=3):
    q = dns.message.make_query(name, rdtype, use_edns=0 if edns else False, payload=payload)
    host, port = d.dns
    if tcp:
        return dns.query.tcp(q, host, port=port, timeout=timeout)
    return dns.query.udp(q, host, port=port, timeout=timeout)


def a_records(msg):
    return sorted(rr.address for rrset in msg.answer if rrset.rdtype == dns.rdatatype.A for rr in rrset)


def srv_records(msg):
    return sorted((rr.port, rr.target.to_text(omit_final_dot=True))
                  for rrset in msg.answer if rrset.rdtype == dns.rdatatype.SRV for rr in rrset)


def service(d, name, source=HTTP_SERVICE, replicas=1, **extra):
    body = {"name": name, "filename": name + ".py", "source": source, "port": free_port(), "replicas": replicas}
    body.update(extra)
    r = d.post("/api/v1/deployments", body)
    assert r.status_code == 201, r.text
    return body["port"]


def instance_ports(d, name, healthy_only=True):
    return sorted((ep["port"], f"{ep['instance']}.{name}.default.prisn.local")
                  for ep in d.endpoints(name) if ep["healthy"] or not healthy_only)


@pytest.fixture
def sick_dir(tmp_path):
    p = tmp_path / "sick"
    p.mkdir()
    return p


# --- records ----------------------------------------------------------------------------------

def test_service_name_answers_a_and_srv_that_follow_scaling(prisnd):
    assert prisnd.dns is not None, "listen.json has no dns address"
    service(prisnd, "api", replicas=2)
    prisnd.wait_ready("api", 2)
    m = ask(prisnd, "api.default.prisn.local")
    assert m.rcode() == dns.rcode.NOERROR and m.flags & dns.flags.AA
    assert a_records(m) == ["127.0.0.1"]  # host mode: every instance is on 127.0.0.1
    assert m.answer[0].ttl == 5
    assert srv_records(ask(prisnd, "_http._tcp.api.default.prisn.local", "SRV")) == instance_ports(prisnd, "api")

    assert prisnd.cli("scale", "api", "4").returncode == 0
    prisnd.wait_ready("api", 4)
    wait_until(lambda: len(srv_records(ask(prisnd, "_http._tcp.api.default.prisn.local", "SRV"))) == 4, 10,
               message="4 SRV records")
    srv = ask(prisnd, "_http._tcp.api.default.prisn.local", "SRV")
    assert srv_records(srv) == instance_ports(prisnd, "api")
    glue = {rrset.name.to_text(omit_final_dot=True): [rr.address for rr in rrset] for rrset in srv.additional}
    assert sorted(glue) == sorted(t for _, t in instance_ports(prisnd, "api"))
    assert a_records(ask(prisnd, "api-3.api.default.prisn.local")) == ["127.0.0.1"]

    assert prisnd.cli("scale", "api", "0").returncode == 0
    wait_until(lambda: not ask(prisnd, "api.default.prisn.local").answer, 15, message="no A records at 0 replicas")
    nodata = ask(prisnd, "_http._tcp.api.default.prisn.local", "SRV")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer
    assert nodata.authority and nodata.authority[0].rdtype == dns.rdatatype.SOA


def test_nxdomain_and_nodata_carry_the_soa(prisnd):
    service(prisnd, "web")
    prisnd.wait_ready("web", 1)
    nx = ask(prisnd, "nope.default.prisn.local")
    assert nx.rcode() == dns.rcode.NXDOMAIN and nx.flags & dns.flags.AA
    assert nx.authority[0].rdtype == dns.rdatatype.SOA
    assert nx.authority[0].name.to_text() == "prisn.local."
    for name, rdtype in [("web.default.prisn.local", "AAAA"), ("default.prisn.local", "A"),
                         ("web.default.prisn.local", "TXT")]:
        m = ask(prisnd, name, rdtype)
        assert m.rcode() == dns.rcode.NOERROR and not m.answer and m.authority, (name, rdtype, m)
    assert ask(prisnd, "web.other.prisn.local").rcode() == dns.rcode.NXDOMAIN
    assert ask(prisnd, "_nope._tcp.web.default.prisn.local", "SRV").rcode() == dns.rcode.NXDOMAIN
    # A service without a port has a name but no SRV names, as one has no unknown port names.
    r = prisnd.post("/api/v1/deployments", {"name": "worker", "runtime": "bash", "source": "sleep 300\n", "replicas": 1})
    assert r.status_code == 201, r.text
    prisnd.wait_ready("worker", 1)
    assert a_records(ask(prisnd, "worker.default.prisn.local")) == ["127.0.0.1"]
    assert ask(prisnd, "_http._tcp.worker.default.prisn.local", "SRV").rcode() == dns.rcode.NXDOMAIN
    soa = ask(prisnd, "prisn.local", "SOA")
    assert soa.answer and soa.answer[0].rdtype == dns.rdatatype.SOA


def test_query_case_is_echoed_and_names_compare_case_insensitively(prisnd):
    service(prisnd, "web")
    prisnd.wait_ready("web", 1)
    m = ask(prisnd, "WeB.DeFault.PRISN.local")
    assert m.question[0].name.to_text() == "WeB.DeFault.PRISN.local."
    assert a_records(m) == ["127.0.0.1"]


def test_dig_finds_the_service_and_retries_big_answers_over_tcp(prisnd):
    if not shutil.which("dig"):
        pytest.fail("dig is missing: packaging/install-deps.sh --test installs bind9-dnsutils")
    service(prisnd, "big", replicas=20)
    prisnd.wait_ready("big", 20, timeout=60)
    name = "_http._tcp.big.default.prisn.local"
    wait_until(lambda: len(srv_records(ask(prisnd, name, "SRV", tcp=True))) == 20, 10, message="20 SRV records")
    udp = ask(prisnd, name, "SRV")  # no EDNS: 512 bytes at most
    assert udp.flags & dns.flags.TC and not udp.answer
    big = ask(prisnd, name, "SRV", edns=True, payload=4096)
    assert not big.flags & dns.flags.TC and len(srv_records(big)) == 20
    host, port = prisnd.dns
    out = subprocess.run(["dig", f"@{host}", "-p", str(port), "+noedns", "+short", name, "SRV"],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.split("\n")) - 1 == 20, out.stdout  # dig fell back to TCP by itself
    short = subprocess.run(["dig", f"@{host}", "-p", str(port), "+short", "big.default.prisn.local"],
                           capture_output=True, text=True, timeout=20)
    assert short.stdout.split() == ["127.0.0.1"]


# --- health -----------------------------------------------------------------------------------

def test_unhealthy_instance_leaves_dns_and_the_published_port_and_comes_back(prisnd, sick_dir):
    port = service(prisnd, "toggle", TOGGLE_SERVICE, replicas=3, env={"SICK_DIR": str(sick_dir)},
                   healthCheck={"http": {"path": "/health"}, "interval": "1s", "timeout": "1s",
                                "failureThreshold": 2, "successThreshold": 1})
    prisnd.wait_ready("toggle", 3)
    name = "_http._tcp.toggle.default.prisn.local"
    wait_until(lambda: len(srv_records(ask(prisnd, name, "SRV"))) == 3, 10, message="3 SRV records")

    failures, seen, stop = [], set(), threading.Event()

    def load():
        while not stop.is_set():
            try:
                r = requests.get(f"http://127.0.0.1:{port}/", timeout=5)
                if r.status_code != 200:
                    failures.append(r.status_code)
                seen.add(r.text.strip())
            except requests.RequestException as e:
                failures.append(repr(e))
            time.sleep(0.01)

    worker = threading.Thread(target=load)
    worker.start()
    try:
        (sick_dir / "sick-toggle-1").touch()
        start = time.monotonic()
        wait_until(lambda: "toggle-1.toggle.default.prisn.local" not in
                   [t for _, t in srv_records(ask(prisnd, name, "SRV"))], 10, message="toggle-1 out of DNS")
        # failureThreshold (2) x interval (1 s), plus one interval of slack and the TTL we do not wait for.
        assert time.monotonic() - start <= 2 * 1 + 1.5
        sick = [ep for ep in prisnd.endpoints("toggle") if ep["instance"] == "toggle-1"]
        assert [(ep["healthy"], ep.get("message")) for ep in sick] == [
            (False, "GET /health: status 500, expected 2xx")], sick
        assert all("message" not in ep for ep in prisnd.endpoints("toggle") if ep["instance"] != "toggle-1")
        status = prisnd.deployment("toggle")["status"]
        assert status["phase"] == "Degraded", status
        # Why it left rotation, where the user looks (not only in prisnd's log).
        assert status["message"] == ("2 of 3 instances healthy; toggle-1 fails its health check: "
                                     "GET /health: status 500, expected 2xx"), status
        wide = prisnd.cli("get", "endpoints", "toggle", "-o", "wide", check=True).stdout.splitlines()
        assert [l for l in wide if "GET /health" in l] == [l for l in wide if l.split()[1] == "toggle-1"], wide
        assert wide[0].split()[-1] == "MESSAGE", wide
        time.sleep(0.3)  # requests that were already on their way to toggle-1 finish
        seen.clear()
        time.sleep(1.0)
        assert "toggle-1" not in seen, "the published port still sends traffic to an unhealthy instance"
        (sick_dir / "sick-toggle-1").unlink()
        wait_until(lambda: len(srv_records(ask(prisnd, name, "SRV"))) == 3, 10, message="toggle-1 back in DNS")
        wait_until(lambda: "toggle-1" in seen, 10, message="toggle-1 back behind the published port")
        prisnd.wait_phase("toggle", "Running")
    finally:
        stop.set()
        worker.join()
    assert failures == [], failures[:5]


def test_killed_instance_leaves_dns_then_its_replacement_enters(prisnd):
    service(prisnd, "victim", replicas=2)
    prisnd.wait_ready("victim", 2)
    name = "_http._tcp.victim.default.prisn.local"
    wait_until(lambda: len(srv_records(ask(prisnd, name, "SRV"))) == 2, 10, message="2 SRV records")
    ep = next(e for e in prisnd.endpoints("victim") if e["instance"] == "victim-0")
    os.kill(ep["pid"], signal.SIGKILL)
    wait_until(lambda: ep["port"] not in [p for p, _ in srv_records(ask(prisnd, name, "SRV"))], 5,
               message="the dead instance out of DNS")
    prisnd.wait_ready("victim", 2, timeout=30)
    wait_until(lambda: len(srv_records(ask(prisnd, name, "SRV"))) == 2, 10, message="the replacement in DNS")
    assert srv_records(ask(prisnd, name, "SRV")) == instance_ports(prisnd, "victim")


# --- protocol edges ---------------------------------------------------------------------------

def raw_udp(d, data, timeout=2.0):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(data, d.dns)
        try:
            return s.recv(65535)
        except socket.timeout:
            return None


def test_malformed_queries_get_formerr_other_opcodes_notimp_transfers_refused(prisnd):
    q = dns.message.make_query("api.default.prisn.local", "A").to_wire()
    reply = raw_udp(prisnd, q + b"\x00garbage")
    assert reply is not None and reply[:2] == q[:2] and reply[3] & 0xF == dns.rcode.FORMERR
    looping = q[:12] + b"\xc0\x0c\x00\x01\x00\x01"
    assert raw_udp(prisnd, looping)[3] & 0xF == dns.rcode.FORMERR
    notify = dns.message.make_query("prisn.local", "SOA")
    notify.set_opcode(dns.opcode.NOTIFY)
    assert dns.message.from_wire(raw_udp(prisnd, notify.to_wire())).rcode() == dns.rcode.NOTIMP
    assert raw_udp(prisnd, b"\x01\x02\x03") is None, "a runt must not be answered"
    response = bytearray(q)
    response[2] |= 0x80
    assert raw_udp(prisnd, bytes(response), timeout=0.5) is None, "a response must not be answered"
    axfr = dns.message.make_query("prisn.local", "AXFR")
    assert dns.query.tcp(axfr, prisnd.dns[0], port=prisnd.dns[1], timeout=3).rcode() == dns.rcode.REFUSED
    edns1 = bytearray(dns.message.make_query("prisn.local", "SOA", use_edns=0).to_wire())
    edns1[-5] = 1  # OPT TTL = extended rcode, version, flags; the OPT record has no options here
    assert dns.message.from_wire(raw_udp(prisnd, bytes(edns1))).rcode() == dns.rcode.BADVERS
    # After all that, still answering, and counting by rcode.
    assert ask(prisnd, "prisn.local", "SOA").rcode() == dns.rcode.NOERROR
    metrics = prisnd.get("/metrics").text
    assert 'prisn_dns_queries_total{rcode="FORMERR"} 2' in metrics
    assert 'prisn_dns_queries_total{rcode="NOTIMP"} 1' in metrics
    assert 'prisn_dns_queries_total{rcode="REFUSED"} 1' in metrics
    assert 'prisn_dns_queries_total{rcode="BADVERS"} 1' in metrics
    assert "prisn_dns_dropped_total 2" in metrics


def test_a_flood_of_garbage_does_not_stop_the_server(prisnd):
    rnd = __import__("random").Random(7)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(3000):
            s.sendto(bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 600))), prisnd.dns)
    assert ask(prisnd, "prisn.local", "SOA").rcode() == dns.rcode.NOERROR
    assert prisnd.proc.poll() is None


def test_idle_tcp_connections_cannot_shut_out_a_new_client(prisnd):
    """At the limit (256 connections) the one idle longest makes room (RFC 7766 §6.2.3): a
    local process holding idle connections must not block every TC=1 retry over TCP."""
    held = []
    try:
        for _ in range(300):
            held.append(socket.create_connection(prisnd.dns, timeout=3))
        for i in range(3):
            m = ask(prisnd, "prisn.local", "SOA", tcp=True)
            assert m.rcode() == dns.rcode.NOERROR and m.answer, (i, m)
        held[-1].settimeout(0.5)
        with pytest.raises(socket.timeout):  # the newest held connection is still open
            held[-1].recv(1)
        held[0].settimeout(3)
        assert held[0].recv(1) == b""  # the oldest was closed for room
    finally:
        for s in held:
            s.close()


def test_tcp_carries_several_queries_on_one_connection(prisnd):
    service(prisnd, "web")
    prisnd.wait_ready("web", 1)
    with socket.create_connection(prisnd.dns, timeout=3) as s:
        for i, name in enumerate(["web.default.prisn.local", "nope.default.prisn.local", "prisn.local"]):
            wire = dns.message.make_query(name, "A", id=100 + i).to_wire()
            s.sendall(len(wire).to_bytes(2, "big") + wire)
            length = int.from_bytes(s.recv(2), "big")
            data = b""
            while len(data) < length:
                data += s.recv(length - len(data))
            m = dns.message.from_wire(data)
            assert m.id == 100 + i
            assert m.rcode() == (dns.rcode.NXDOMAIN if name.startswith("nope") else dns.rcode.NOERROR)


# --- forwarding -------------------------------------------------------------------------------

@pytest.fixture
def dnsmasq(tmp_path):
    """A dnsmasq upstream on loopback, started and stopped by pid by this test."""
    binary = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    if not os.path.exists(binary):
        pytest.fail("dnsmasq is missing: packaging/install-deps.sh --test installs dnsmasq-base")
    port = None
    for _ in range(20):
        port = free_port()
        user = ["--user=root"] if os.geteuid() == 0 else []  # as root it would switch to nobody
        proc = subprocess.Popen([binary, "-k", "--no-resolv", "--no-hosts", "-C", "/dev/null", f"--port={port}",
                                 "--listen-address=127.0.0.1", "--bind-interfaces", "--local-ttl=30",
                                 "--address=/upstream.example/192.0.2.7", f"--pid-file={tmp_path}/dnsmasq.pid",
                                 *user],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.3)
        if proc.poll() is None:
            break
    assert proc.poll() is None, proc.stderr.read()
    yield proc, port
    if proc.poll() is None:
        proc.terminate()
        proc.wait(5)


def prisnd_with_upstream(daemon_factory, tmp_path, upstream):
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"dns": {"upstreams": [upstream]}}))
    return daemon_factory(extra_args=["--config", str(config)])


def test_other_names_are_forwarded_cached_and_servfail_when_upstream_is_silent(daemon_factory, tmp_path, dnsmasq):
    proc, port = dnsmasq
    d = prisnd_with_upstream(daemon_factory, tmp_path, f"127.0.0.1:{port}")
    q = dns.message.make_query("www.upstream.example", "A", id=4242)
    m = dns.query.udp(q, d.dns[0], port=d.dns[1], timeout=3)
    assert m.id == 4242 and a_records(m) == ["192.0.2.7"]
    assert m.flags & dns.flags.RA
    again = ask(d, "WWW.upstream.example")
    assert a_records(again) == ["192.0.2.7"]
    assert again.question[0].name.to_text() == "WWW.upstream.example."
    assert 0 < again.answer[0].ttl <= 30
    over_tcp = ask(d, "tcp.upstream.example", tcp=True)
    assert a_records(over_tcp) == ["192.0.2.7"]
    metrics = d.get("/metrics").text
    assert "prisn_dns_cache_hits_total 1" in metrics

    proc.send_signal(signal.SIGSTOP)  # an upstream that takes queries and never answers
    try:
        start = time.monotonic()
        silent = ask(d, "fresh.upstream.example", timeout=5)
        elapsed = time.monotonic() - start
        assert silent.rcode() == dns.rcode.SERVFAIL
        assert elapsed < 2.0, f"SERVFAIL took {elapsed:.2f}s"
        assert a_records(ask(d, "www.upstream.example")) == ["192.0.2.7"], "cached answers outlive the upstream"
        assert a_records(ask(d, "api.default.prisn.local")) == [] and ask(d, "prisn.local", "SOA").answer
    finally:
        proc.send_signal(signal.SIGCONT)
    assert "prisn_dns_upstream_failures_total 1" in d.get("/metrics").text


def test_an_upstream_that_does_not_answer_is_asked_last(daemon_factory, tmp_path, dnsmasq):
    _, port = dnsmasq
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:  # takes queries, never answers
        sink.bind(("127.0.0.1", 0))
        config = tmp_path / "config.yaml"
        config.write_text(json.dumps({"dns": {"upstreams": [f"127.0.0.1:{sink.getsockname()[1]}", f"127.0.0.1:{port}"]}}))
        d = daemon_factory(extra_args=["--config", str(config)])
        slow = 0
        for i in range(6):  # distinct names: none from the cache
            start = time.monotonic()
            assert a_records(ask(d, f"n{i}.upstream.example", timeout=5)) == ["192.0.2.7"]
            slow += time.monotonic() - start > 0.5
        assert slow <= 1, f"{slow} of 6 queries waited for the silent upstream"


class UdpUpstream:
    """A UDP upstream on loopback whose thread hands each query to respond(query, peer, send)."""

    def __init__(self, respond):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(respond,), daemon=True)
        self.thread.start()

    def _serve(self, respond):
        while not self.stop.is_set():
            try:
                data, peer = self.socket.recvfrom(4096)
            except socket.timeout:
                continue
            respond(dns.message.from_wire(data), peer, self.send)

    def send(self, reply, peer):
        try:
            self.socket.sendto(reply.to_wire(), peer)
        except OSError:  # a late answer after the test closed the upstream
            pass

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.socket.close()


@pytest.fixture
def answering_upstream():
    """A UDP upstream on loopback that answers every A query with 192.0.2.9, leaves RA clear and
    offers EDNS 8192 (as some resolvers do); yields (its port, the source ports it saw)."""
    ports = []

    def respond(query, peer, send):
        reply = dns.message.make_response(query)
        reply.flags &= ~dns.flags.RA
        if query.edns >= 0:
            reply.use_edns(0, payload=8192)
        reply.answer.append(dns.rrset.from_text(query.question[0].name, 30, "IN", "A", "192.0.2.9"))
        ports.append(peer[1])
        send(reply, peer)

    upstream = UdpUpstream(respond)
    yield upstream.port, ports
    upstream.close()


@pytest.fixture
def scripted_upstreams():
    """Makes UDP upstreams on loopback that answer A queries with their own address, as each
    name's first label says: `slow-MS` after MS ms, `fail` SERVFAIL, `refuse` REFUSED (only
    when made with failing=True; otherwise those names are answered too). Yields the maker;
    each returns its port."""
    made = []

    def make(address, failing=False):
        def reply_to(query, peer, send):
            reply = dns.message.make_response(query)
            label = query.question[0].name.labels[0].decode()
            if failing and label in ("fail", "refuse"):
                reply.set_rcode(dns.rcode.SERVFAIL if label == "fail" else dns.rcode.REFUSED)
            else:
                reply.answer.append(dns.rrset.from_text(query.question[0].name, 30, "IN", "A", address))
            send(reply, peer)

        def respond(query, peer, send):
            label = query.question[0].name.labels[0].decode()
            delay = int(label[5:]) / 1000 if label.startswith("slow-") else 0
            threading.Timer(delay, reply_to, (query, peer, send)).start()

        made.append(UdpUpstream(respond))
        return made[-1].port

    yield make
    for upstream in made:
        upstream.close()


def test_a_slow_upstreams_answer_to_the_first_try_still_counts(daemon_factory, tmp_path, scripted_upstreams):
    """A lone upstream is asked again after half the 1.8 s deadline; one that answers the first
    try a little after that (a cold recursive lookup) still answers the query."""
    port = scripted_upstreams("192.0.2.21")
    d = prisnd_with_upstream(daemon_factory, tmp_path, f"127.0.0.1:{port}")
    for delay in (1100, 1400):
        started = time.monotonic()
        m = ask(d, f"slow-{delay}.late.example", timeout=5)
        assert m.rcode() == dns.rcode.NOERROR and a_records(m) == ["192.0.2.21"], (delay, m)
        assert time.monotonic() - started < 1.8, delay


def test_an_upstream_that_fails_or_refuses_is_passed_over_for_the_next(daemon_factory, tmp_path, scripted_upstreams):
    """SERVFAIL or REFUSED from one upstream (its recursion failed, or its ACL refuses the node)
    is not the answer while another upstream can give one."""
    broken = scripted_upstreams("192.0.2.31", failing=True)
    good = scripted_upstreams("192.0.2.32")
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"dns": {"upstreams": [f"127.0.0.1:{broken}", f"127.0.0.1:{good}"]}}))
    d = daemon_factory(extra_args=["--config", str(config)])
    for i in range(4):  # the upstreams are taken in turn: each kind meets the broken one first at least once
        for label in ("fail", "refuse"):
            m = ask(d, f"{label}.n{i}.example", timeout=5)
            assert m.rcode() == dns.rcode.NOERROR and a_records(m) == ["192.0.2.32"], (label, i, m)


def test_forwarded_queries_leave_from_random_source_ports(daemon_factory, tmp_path, answering_upstream):
    """Each forwarded query has a socket of its own, so a forger must guess the source port as
    well as the id (RFC 5452)."""
    port, ports = answering_upstream
    d = prisnd_with_upstream(daemon_factory, tmp_path, f"127.0.0.1:{port}")
    for i in range(8):  # distinct names: none from the cache
        assert a_records(ask(d, f"p{i}.random.example")) == ["192.0.2.9"]
    assert len(ports) == 8 and len(set(ports)) >= 7, ports


def test_a_forwarded_answer_looks_the_same_fresh_and_from_the_cache(daemon_factory, tmp_path, answering_upstream):
    port, _ = answering_upstream
    d = prisnd_with_upstream(daemon_factory, tmp_path, f"127.0.0.1:{port}")
    fresh = ask(d, "same.example", edns=True)
    cached = ask(d, "same.example", edns=True)
    assert "prisn_dns_cache_hits_total 1" in d.get("/metrics").text
    for m in (fresh, cached):
        assert m.flags & dns.flags.RA, dns.flags.to_text(m.flags)
        assert m.payload == 1232, m.payload
    assert dns.flags.to_text(fresh.flags) == dns.flags.to_text(cached.flags)
    plain = ask(d, "plain.example")  # a client without EDNS gets no OPT back
    assert plain.edns < 0 and plain.flags & dns.flags.RA


@pytest.mark.parametrize("listen", ["0.0.0.0", "[::]"])
def test_on_a_wildcard_address_each_answer_comes_from_the_address_asked(daemon_factory, tmp_path,
                                                                        answering_upstream, listen):
    """A query to 127.0.0.5 answered from 127.0.0.1 is dropped by the client (dnspython raises
    UnexpectedSource): zone answers and forwarded ones alike must leave from the address asked."""
    port, _ = answering_upstream
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"dns": {"upstreams": [f"127.0.0.1:{port}"]}}))
    d = daemon_factory(extra_args=["--config", str(config), "--dns", f"{listen}:0"])
    dns_port = d.dns[1]
    for address in ("127.0.0.5", "127.0.0.1"):
        for name in ("prisn.local", f"fwd-{address}.example"):
            q = dns.message.make_query(name, "SOA" if name == "prisn.local" else "A")
            m = dns.query.udp(q, address, port=dns_port, timeout=3, ignore_unexpected=False)
            assert m.rcode() == dns.rcode.NOERROR and m.answer, (address, name, m)


def test_lookup_of_an_upstreams_nodata_does_not_speak_of_health(daemon_factory, tmp_path, prisnd):
    """`healthy` is about prisn's own zone; an upstream's empty answer only says the name exists."""
    upstream = UdpUpstream(lambda query, peer, send: send(dns.message.make_response(query), peer))
    try:
        d = prisnd_with_upstream(daemon_factory, tmp_path, f"127.0.0.1:{upstream.port}")
        out = d.cli("dns", "lookup", "web.example", "--type", "SRV", check=True).stdout
        assert out == "web.example: no SRV records (NODATA: the name exists, without records of this type, " \
                      "says the upstream)\n", out
    finally:
        upstream.close()
    service(prisnd, "quiet")  # in the zone, with nothing healthy yet
    out = prisnd.cli("dns", "lookup", "quiet.default.prisn.local", "--type", "AAAA", check=True).stdout
    assert "nothing of this type is healthy" in out, out


def test_an_upstream_with_nothing_listening_is_a_servfail_at_once(daemon_factory, tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # a port with nothing on it
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    d = prisnd_with_upstream(daemon_factory, tmp_path, f"127.0.0.1:{closed}")
    start = time.monotonic()
    assert ask(d, "nobody.home.example").rcode() == dns.rcode.SERVFAIL
    elapsed = time.monotonic() - start
    assert elapsed < 1.0, f"the refusal (ICMP port unreachable) should end it at once, took {elapsed:.2f}s"


def test_an_upstream_that_is_prisn_itself_is_skipped(daemon_factory, tmp_path):
    port = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"dns": {"upstreams": [f"127.0.0.1:{port}"]}}))
    d = daemon_factory(extra_args=["--config", str(config), "--dns", f"127.0.0.1:{port}"])
    assert f"upstream 127.0.0.1:{port} is prisn DNS itself: skipped" in d.read_log()
    assert ask(d, "loop.example").rcode() == dns.rcode.SERVFAIL
    metrics = d.get("/metrics").text
    assert "prisn_dns_forwarded_total 0" in metrics, [l for l in metrics.splitlines() if "forward" in l]


def test_upstreams_default_to_the_nodes_resolv_conf(daemon_factory):
    d = daemon_factory()
    nameservers = [line.split()[1] for line in open("/etc/resolv.conf") if line.startswith("nameserver")]
    log = d.read_log()
    assert f"DNS on {d.dns[0]}:{d.dns[1]}" in log, log
    for ns in nameservers:
        if not ns.startswith("127."):
            assert f"{ns}:53" in log or f"[{ns}]:53" in log, log


# --- lookups through the API and the CLI ------------------------------------------------------

def test_dns_lookup_cli_and_api_show_what_the_server_answers(prisnd):
    service(prisnd, "api", replicas=2)
    prisnd.wait_ready("api", 2)
    wait_until(lambda: len(srv_records(ask(prisnd, "_http._tcp.api.default.prisn.local", "SRV"))) == 2, 10,
               message="2 SRV records")
    r = prisnd.get("/api/v1/dns/lookup?name=api.default.prisn.local&type=A")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rcode"] == "NOERROR" and body["authoritative"] is True
    assert [a["data"] for a in body["answers"]] == ["127.0.0.1"]
    out = prisnd.cli("dns", "lookup", "api.default.prisn.local")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].split() == ["NAME", "TYPE", "TTL", "DATA"]
    assert "api.default.prisn.local" in out.stdout and "127.0.0.1" in out.stdout
    srv = prisnd.cli("dns", "lookup", "_http._tcp.api.default.prisn.local", "--type", "SRV")
    assert srv.returncode == 0 and srv.stdout.count(" SRV ") == 2, srv.stdout
    for port, target in instance_ports(prisnd, "api"):
        assert f"0 10 {port} {target}" in srv.stdout
    nx = prisnd.cli("dns", "lookup", "nope.default.prisn.local")
    assert nx.returncode == 1 and "NXDOMAIN" in nx.stderr
    as_json = json.loads(prisnd.cli("dns", "lookup", "api.default.prisn.local", "-o", "json").stdout)
    assert as_json["answers"][0]["data"] == "127.0.0.1"
    bad = prisnd.get("/api/v1/dns/lookup?name=a..b")
    assert bad.status_code == 422 and "name" in bad.json()["error"]["message"]
    assert prisnd.get("/api/v1/dns/lookup?name=x.prisn.local&type=NOPE").status_code == 422
    bogus = prisnd.cli("dns", "lookup", "api.default.prisn.local", "--type", "BOGUS")  # a usage error
    assert bogus.returncode == 2 and "--type BOGUS" in bogus.stderr, (bogus.returncode, bogus.stderr)
    assert prisnd.cli("dns", "lookup", "api.default.prisn.local", "--type", "aaaa").returncode == 0
    assert prisnd.get("/api/v1/dns/lookup").status_code == 422
    # A bare name, as a workload's resolver completes it from its search list (`dig +search`).
    bare = prisnd.cli("dns", "lookup", "api")
    assert bare.returncode == 0 and "api.default.prisn.local" in bare.stdout and "127.0.0.1" in bare.stdout, bare
    elsewhere = prisnd.cli("-n", "other", "dns", "lookup", "api")
    assert elsewhere.returncode == 1 and "api.other.prisn.local: NXDOMAIN" in elsewhere.stderr, elsewhere.stderr
    assert prisnd.get("/api/v1/dns/lookup?name=api").json()["name"] == "api.default.prisn.local"


def test_lookup_with_dns_off_is_503(daemon_factory):
    d = daemon_factory(extra_args=["--dns", "off"])
    assert json.loads((d.data_dir / "listen.json").read_text())["dns"] is None
    r = d.get("/api/v1/dns/lookup?name=api.default.prisn.local")
    assert r.status_code == 503 and "off" in r.json()["error"]["message"]
    out = d.cli("dns", "lookup", "api.default.prisn.local")
    assert out.returncode == 1 and "off" in out.stderr


def test_dns_port_in_use_is_a_startup_error_naming_the_flag(daemon_factory):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        d = daemon_factory(extra_args=["--dns", f"127.0.0.1:{port}"], start=False)
        d.start(wait=False)
        assert d.proc.wait(20) == 1
        log = d.read_log()
        assert f"cannot bind 127.0.0.1:{port}: " in log and "(use --dns HOST:PORT or --dns off)" in log, log


# --- workloads resolve prisn names (root: a private mount namespace per workload) -------------

RESOLVE_JOB = """\
import socket, sys, urllib.request
print(open("/etc/resolv.conf").read(), flush=True)
port = int(sys.argv[1])
print("addr", socket.getaddrinfo("web.default.prisn.local", port, socket.AF_INET)[0][4][0], flush=True)
print("body", urllib.request.urlopen(f"http://web.default.prisn.local:{port}/", timeout=5).read().decode().strip())
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="a private mount namespace for resolv.conf needs root")
def test_workloads_resolve_service_names_through_prisn_dns(daemon_factory, scripts):
    node_before = open("/etc/resolv.conf").read()
    address = "127.0.0.153"  # port 53 on an address of its own, beside any resolver of the node
    d = daemon_factory(extra_args=["--dns", f"{address}:53"])
    port = service(d, "web")
    d.wait_ready("web", 1)
    out = d.cli("run", scripts("resolve.py", RESOLVE_JOB), "--", str(port), timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"nameserver {address}" in out.stdout
    for line in node_before.splitlines():
        if line.startswith(("search", "options")):
            assert line in out.stdout, f"the node's '{line}' line is kept"
    assert "addr 127.0.0.1" in out.stdout
    assert "body web-0" in out.stdout
    assert open("/etc/resolv.conf").read() == node_before, "the node's resolv.conf must not change"


def test_srv_for_a_63_character_name_targets_the_service_name(prisnd):
    name = "a" * 30 + "-" + "b" * 32
    assert len(name) == 63
    service(prisnd, name, replicas=2)
    prisnd.wait_ready(name, 2)
    fqdn = f"{name}.default.prisn.local"
    query = dns.message.make_query(f"_http._tcp.{fqdn}", "SRV")

    def two_answers():
        wire = raw_udp(prisnd, query.to_wire())
        return wire if wire and len(srv_records(dns.message.from_wire(wire))) == 2 else None

    wire = wait_until(two_answers, 10, message="2 SRV records")
    msg = dns.message.from_wire(wire)  # parses: no label over 63 bytes
    # "NAME-0" would be a 65-byte label: the targets are the service name, with each instance's port.
    assert srv_records(msg) == sorted((ep["port"], fqdn) for ep in prisnd.endpoints(name))
    # The glue A is there once: dnspython would merge a duplicate, so count in the header.
    assert int.from_bytes(wire[10:12], "big") == 1, msg
    glue = [(rrset.name.to_text(), rrset.rdtype, [rr.address for rr in rrset]) for rrset in msg.additional]
    assert glue == [(fqdn + ".", dns.rdatatype.A, ["127.0.0.1"])]
    assert a_records(ask(prisnd, fqdn)) == ["127.0.0.1"]


def test_a_port_name_longer_than_15_characters_is_422(prisnd):
    r = prisnd.post("/api/v1/deployments", {"name": "longport", "filename": "l.py", "source": HTTP_SERVICE,
                                            "ports": [{"name": "averyveryverylongname", "port": free_port()}]})
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("ports[0].name"), r.text
    assert prisnd.get("/api/v1/deployments/longport").status_code == 404
