# SPDX-License-Identifier: MIT
"""L4 routes (SPEC §7.4): a service's port and an `expose.type: nodePort` port, both published
through the health-aware L4 proxy; TCP routes from --tcp-ports with --port auto; stats."""
import os
import socket

import pytest
import requests

from conftest import HTTP_SERVICE, RAW_LISTENER, free_port, wait_until


def test_node_port_publishes_on_every_address_and_balances(prisnd, scripts):
    port, node_port = free_port(), free_port()
    out = prisnd.cli("deploy", scripts("np.py", HTTP_SERVICE), "--name", "np", "--port", str(port), "--replicas", "2",
                     "--expose", f"nodePort:{node_port}")
    assert out.returncode == 0, out.stderr
    prisnd.wait_ready("np", 2)
    assert prisnd.deployment("np")["expose"] == {"type": "nodePort", "nodePort": node_port}
    seen = {requests.get(f"http://127.0.0.1:{node_port}/", timeout=5).text.split()[0] for _ in range(6)}
    assert seen == {"np-0", "np-1"}
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200  # the service port too
    # On every address of the node, not just loopback.
    addresses = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)} - {"127.0.0.1"}
    for addr in list(addresses)[:1]:
        assert requests.get(f"http://{addr}:{node_port}/", timeout=5).status_code == 200
    if socket.has_ipv6 and os.path.exists("/proc/net/if_inet6"):  # and IPv6 ones
        assert requests.get(f"http://[::1]:{node_port}/", timeout=5).status_code == 200
    # Deploying again is "unchanged"; another node port is an update, and frees the old one.
    again = prisnd.cli("deploy", scripts("np.py", HTTP_SERVICE), "--name", "np", "--port", str(port),
                       "--expose", f"nodePort:{node_port}")
    assert again.returncode == 0 and '"np" unchanged' in again.stdout, again.stdout + again.stderr
    moved_port = free_port()
    moved = prisnd.cli("deploy", scripts("np.py", HTTP_SERVICE), "--name", "np", "--port", str(port),
                       "--expose", f"nodePort:{moved_port}")
    assert moved.returncode == 0 and '"np" updated' in moved.stdout, moved.stdout + moved.stderr
    assert requests.get(f"http://127.0.0.1:{moved_port}/", timeout=5).status_code == 200
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", node_port)) != 0  # the old node port is closed
    assert prisnd.cli("deploy", scripts("np.py", HTTP_SERVICE), "--name", "np", "--port", str(port),
                      "--expose", f"nodePort:{node_port}").returncode == 0
    # Another deployment cannot take the node port.
    clash = prisnd.post("/api/v1/deployments", {"name": "clash", "filename": "c.py", "source": HTTP_SERVICE,
                                                "port": free_port(), "expose": {"type": "nodePort", "nodePort": node_port}})
    assert clash.status_code == 409 and str(node_port) in clash.json()["error"]["message"]


@pytest.mark.skipif(not os.path.exists("/proc/net/if_inet6"), reason="no IPv6 on this machine")
def test_port_auto_picks_a_free_port_on_an_ipv6_publish_address(daemon_factory, scripts, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text('proxy: {publishAddress: "::1"}\n')
    d = daemon_factory(extra_args=["--config", str(config)])
    out = d.cli("deploy", scripts("v6.py", HTTP_SERVICE), "--name", "v6", "--port", "auto")
    assert out.returncode == 0, out.stderr
    port = d.deployment("v6")["port"]
    d.wait_ready("v6", 1)
    assert requests.get(f"http://[::1]:{port}/", timeout=5).status_code == 200


def test_port_auto_is_refused_when_the_tcp_range_is_off(daemon_factory, scripts, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("proxy: {tcp: {enabled: false}}\n")
    d = daemon_factory(extra_args=["--config", str(config)])
    out = d.cli("deploy", scripts("off.py", HTTP_SERVICE), "--name", "off", "--port", "auto")
    assert out.returncode == 1 and "proxy.tcp.enabled: false" in out.stderr, out.stderr
    port = free_port()
    assert d.cli("deploy", scripts("off.py", HTTP_SERVICE), "--name", "off", "--port", str(port)).returncode == 0
    d.wait_ready("off", 1)
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200


def test_tcp_routes_from_the_port_range_show_in_proxy_stats(prisnd, scripts):
    out = prisnd.cli("deploy", scripts("tcpr.py", HTTP_SERVICE), "--name", "tcpr", "--port", "auto")
    assert out.returncode == 0, out.stderr
    port = prisnd.deployment("tcpr")["port"]
    lo, hi = map(int, prisnd.tcp_ports.split("-"))
    assert lo <= port <= hi and str(port) in out.stdout
    prisnd.wait_ready("tcpr", 1)
    for _ in range(3):
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    stats = prisnd.cli("proxy", "stats")
    row = next(l for l in stats.stdout.splitlines() if l.split()[0] == "tcpr.default")  # as the seed names a service
    assert row.split()[-3] == "3", stats.stdout  # Requests: connections
    item = next(i for i in prisnd.get("/api/v1/proxy/stats").json()["items"] if i.get("deployment") == "tcpr")
    assert item["protocol"] == "tcp" and item["requests"] == 3 and item["errors"] == 0
    # Latency of a TCP route: accept to connected to an instance, here on loopback.
    assert 0 < item["p50_ms"] <= item["p99_ms"] < 1000, item
    assert row.split()[-1].endswith("ms"), stats.stdout
    # a deleted deployment's routes leave the stats
    assert prisnd.cli("delete", "tcpr").returncode == 0
    assert not [i for i in prisnd.get("/api/v1/proxy/stats").json()["items"] if "tcpr" in i["route"]]


def test_unhealthy_instances_get_no_l4_connections(prisnd, scripts, tmp_path):
    flag = tmp_path / "sick"
    svc = HTTP_SERVICE.replace('def do_GET(self):', f'''def do_GET(self):
        import os
        if self.path == "/health" and os.path.exists({str(flag)!r} + os.environ["PRISN_INSTANCE"]):
            self.send_response(503); self.send_header("Content-Length", "0"); self.end_headers(); return''')
    port = free_port()
    r = prisnd.post("/api/v1/deployments", {"name": "gate", "filename": "gate.py", "source": svc, "port": port,
                                            "replicas": 2, "healthCheck": {"http": {"path": "/health"}, "interval": "1s",
                                                                           "failureThreshold": 1}})
    assert r.status_code == 201, r.text
    prisnd.wait_ready("gate", 2)
    (tmp_path / "sickgate-1").touch()
    wait_until(lambda: [e["healthy"] for e in prisnd.endpoints("gate")] == [True, False], 10, message="gate-1 unhealthy")
    seen = {requests.get(f"http://127.0.0.1:{port}/", timeout=5).text.split()[0] for _ in range(8)}
    assert seen == {"gate-0"}


def test_proxy_trace_follows_published_ports_and_node_ports(prisnd, scripts):
    port, node_port = free_port(), free_port()
    out = prisnd.cli("deploy", scripts("tr.py", HTTP_SERVICE), "--name", "tr", "--port", str(port),
                     "--expose", f"nodePort:{node_port}")
    assert out.returncode == 0, out.stderr
    prisnd.wait_ready("tr", 1)
    for target, via in [(f"localhost:{port}", "published port"), (f"127.0.0.1:{node_port}/x", "nodePort"),
                        (f"[::1]:{node_port}", "nodePort"), ("tr.default.prisn.local", "service")]:
        traced = prisnd.cli("proxy", "trace", target)
        assert traced.returncode == 0, target + ": " + traced.stderr
        assert traced.stdout.splitlines()[3].startswith(f"Route: {via} default/tr;"), traced.stdout
        assert "Response: 200 OK" in traced.stdout
    # A port the deployment does not have is an error that lists the ones it has.
    wrong = prisnd.cli("proxy", "trace", f"tr.default.prisn.local:{port + 1}")
    assert wrong.returncode == 1 and f"has no port {port + 1} (its ports: {port})" in wrong.stderr, wrong.stderr
    unused = prisnd.cli("proxy", "trace", f"127.0.0.1:{free_port()}")
    assert unused.returncode == 1 and "published on this node" in unused.stderr, unused.stderr
    # The service port listens on IPv4 only (publishAddress 0.0.0.0): [::1] does not reach it.
    v6 = prisnd.cli("proxy", "trace", f"[::1]:{port}")
    assert v6.returncode == 1 and "published on this node" in v6.stderr, v6.stderr
    # Names as DNS answers them (any case, a trailing dot); a bare name in the namespace asked.
    assert prisnd.cli("proxy", "trace", "TR.Default.PRISN.local.").returncode == 0
    elsewhere = prisnd.cli("-n", "nosuch", "proxy", "trace", "tr")
    assert elsewhere.returncode == 1 and "neither a service" in elsewhere.stderr, elsewhere.stderr
    bad_ns = prisnd.post("/api/v1/proxy/trace?namespace=Bad_NS", {"target": "tr"})
    assert bad_ns.status_code in (400, 422) and bad_ns.json()["error"]["message"], bad_ns.text
    # With no port, the trace says which port it took; a malformed target is a 422.
    assert prisnd.post("/api/v1/proxy/trace", {"target": "tr"}).json()["target"] == f"tr:{port}/"
    for bad in ("tr:1:2", "[::1", "::1"):
        r = prisnd.post("/api/v1/proxy/trace", {"target": bad})
        assert r.status_code == 422 and "HOST:PORT" in r.json()["error"]["message"], (bad, r.text)


BANNER = RAW_LISTENER + """\
while True:
    c, _ = s.accept()
    c.sendall(b"SSH-2.0-banner\\r\\n")
    c.close()
"""


def test_proxy_trace_of_a_port_that_does_not_speak_http_and_its_exit_status(prisnd, scripts):
    """The L4 proxy carries any protocol: that the instance took the connection is the trace's
    answer. A failed trace exits 1 whatever the output format."""
    out = prisnd.cli("deploy", scripts("banner.py", BANNER), "--name", "banner", "--port", str(free_port()))
    assert out.returncode == 0, out.stderr
    prisnd.wait_ready("banner", 1)
    traced = prisnd.cli("proxy", "trace", "banner")
    assert traced.returncode == 0, traced.stdout + traced.stderr
    assert "Response: connected; the answer is not HTTP (" in traced.stdout, traced.stdout
    assert prisnd.cli("proxy", "trace", "banner", "-o", "json").returncode == 0
    assert prisnd.cli("scale", "banner", "0").returncode == 0
    wait_until(lambda: prisnd.endpoints("banner") == [], 15, message="scaled to 0")
    for fmt in ("table", "json", "yaml"):
        failed = prisnd.cli("proxy", "trace", "banner", *([] if fmt == "table" else ["-o", fmt]))
        assert failed.returncode == 1, (fmt, failed.stdout, failed.stderr)


ONE_REFUSES = """import os, time
if os.environ["PRISN_INSTANCE"].endswith("-0"):
    time.sleep(3600)  # in rotation (its check is `true`) but listening on nothing
""" + HTTP_SERVICE


def test_proxy_trace_passes_over_an_instance_that_refuses_as_the_proxy_does(prisnd, scripts):
    port = free_port()
    r = prisnd.post("/api/v1/deployments", {"name": "half", "filename": "half.py", "source": ONE_REFUSES, "port": port,
                                            "replicas": 2, "healthCheck": {"exec": {"command": ["true"]}, "interval": "1s"}})
    assert r.status_code == 201, r.text
    prisnd.wait_ready("half", 2)
    # Its check passes before half-1 listens: the trace is of a service that answers.
    wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=5).text.startswith("half-1"), 20,
               message="half-1 answering")
    traces = []
    for _ in range(2):  # whichever is next (a real connection moves it on), the trace ends at half-1
        traced = prisnd.post("/api/v1/proxy/trace", {"target": f"localhost:{port}"}).json()
        assert traced["response"]["status"] == 200 and traced["selected"]["instance"] == "half-1", traced
        traces.append(traced)
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).text.startswith("half-1")
    refused = [t for t in traces if "refused the connection" in t["selected"]["reason"]]
    assert len(refused) == 1, traces  # the one that picked half-0 first
    assert refused[0]["selected"]["reason"].endswith("so the next instance, as the proxy does"), refused


def test_proxy_trace_names_the_instance_the_next_connection_goes_to(prisnd, scripts):
    port = free_port()
    out = prisnd.cli("deploy", scripts("nx.py", HTTP_SERVICE), "--name", "nx", "--port", str(port), "--replicas", "3")
    assert out.returncode == 0, out.stderr
    prisnd.wait_ready("nx", 3)
    for target in (f"localhost:{port}", "nx.default.prisn.local", f"localhost:{port}"):
        traced = prisnd.post("/api/v1/proxy/trace", {"target": target}).json()
        assert traced["selected"]["algorithm"] == "round-robin", traced
        assert traced["selected"]["reason"] == "round-robin (the next connection through the L4 proxy)", traced
        served = requests.get(f"http://127.0.0.1:{port}/", timeout=5).text.split()[0]
        assert served == traced["selected"]["instance"], (target, traced)


def assert_port_refused(prisnd, svc, name, port):
    """Deploying `name` on `port` fails, from the CLI and the API, and creates nothing."""
    out = prisnd.cli("deploy", svc, "--name", name, "--port", str(port))
    assert out.returncode == 1, out.stdout + out.stderr
    assert str(port) in out.stderr and "Address already in use" in out.stderr, out.stderr
    r = prisnd.post("/api/v1/deployments", {"name": name, "filename": "held.py", "source": HTTP_SERVICE,
                                            "port": port})
    assert r.status_code == 409 and r.json()["error"]["message"].startswith("port: cannot listen on"), r.text
    assert prisnd.get(f"/api/v1/deployments/{name}").status_code == 404


def test_a_port_another_listener_holds_is_refused_and_nothing_is_created(prisnd, scripts):
    svc = scripts("held.py", HTTP_SERVICE)
    # prisnd's own HTTP router listens on 127.0.0.1:PORT: a service cannot publish there too.
    router_port = int(prisnd.http.rsplit(":", 1)[1])
    assert_port_refused(prisnd, svc, "onrouter", router_port)
    # The router still owns its port (no listener of the service's took its connections).
    assert "no route" in requests.get(prisnd.http + "/", headers={"Host": "nothere.example.com"}, timeout=5).text
    # SO_REUSEPORT on the other socket would let a second SO_REUSEPORT listener share the port
    # silently: prisnd must still refuse it.
    holder = socket.socket()
    try:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert_port_refused(prisnd, svc, "shared", port)
    finally:
        holder.close()
    # Once the other listener is gone the same port is taken: the refusal was about the holder.
    assert prisnd.cli("deploy", svc, "--name", "shared", "--port", str(port)).returncode == 0


def test_a_deleted_service_can_be_deployed_again_at_once_on_its_port(prisnd, scripts):
    svc = scripts("again.py", HTTP_SERVICE)
    port = free_port()
    for i in range(5):
        for step in (("deploy", svc, "--name", "again", "--port", str(port)), ("delete", "again"),
                     ("deploy", svc, "--name", "again", "--port", str(port))):
            out = prisnd.cli(*step)
            assert out.returncode == 0, f"round {i}: prisn {' '.join(step)}: {out.stderr}"
        if i == 4:  # the last redeploy really serves on the port
            prisnd.wait_ready("again", 1)
            assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).text.startswith("again-0")
        assert prisnd.cli("delete", "again").returncode == 0
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # the last delete closed the port


def test_a_node_port_equal_to_the_service_port_is_one_listener(prisnd, scripts):
    port = free_port()
    out = prisnd.cli("deploy", scripts("same.py", HTTP_SERVICE), "--name", "same", "--port", str(port),
                     "--expose", f"nodePort:{port}")
    assert out.returncode == 0, out.stderr
    prisnd.wait_ready("same", 1)
    connections = 1
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).text.startswith("same-0")
    if socket.has_ipv6 and os.path.exists("/proc/net/if_inet6"):  # the NodePort is on every address
        assert requests.get(f"http://[::1]:{port}/", timeout=5).text.startswith("same-0")
        connections += 1
    items = [i for i in prisnd.get("/api/v1/proxy/stats").json()["items"]
             if i.get("deployment") == "same" and i["protocol"] == "tcp"]
    assert len(items) == 1, items
    assert items[0]["requests"] == connections, items
    # A NodePort serves the first port: naming another port of the deployment is invalid.
    a, b = free_port(), free_port()
    r = prisnd.post("/api/v1/deployments", {"name": "twoports", "filename": "t.py", "source": HTTP_SERVICE,
                                            "ports": [{"name": "http", "port": a}, {"name": "admin", "port": b}],
                                            "expose": {"type": "nodePort", "nodePort": b}})
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("expose.nodePort"), r.text
    assert prisnd.get("/api/v1/deployments/twoports").status_code == 404


def test_apply_with_a_port_held_elsewhere_creates_nothing(prisnd, tmp_path):
    doc = ("apiVersion: prisn.io/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n"
           "  source: \"print(1)\"\n  filename: {name}.py\n  port: {port}\n")
    first_port = free_port()
    manifest = tmp_path / "held.yaml"
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        held = holder.getsockname()[1]
        manifest.write_text(doc.format(name="first", port=first_port) + "---\n" + doc.format(name="second", port=held))
        out = prisnd.cli("apply", "-f", str(manifest))
    assert out.returncode == 1, out.stdout
    assert "document 2 (Deployment second)" in out.stderr and "port" in out.stderr, out.stderr
    # All or nothing: the first document, valid by itself, was not applied either.
    assert prisnd.get("/api/v1/deployments/first").status_code == 404
    assert prisnd.get("/api/v1/deployments/second").status_code == 404
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", first_port)) != 0  # and no listener of it was left open


def test_proxy_trace_of_a_target_with_a_space_is_422(prisnd):
    r = prisnd.post("/api/v1/proxy/trace", {"target": "bad target"})
    assert r.status_code == 422 and "HOST:PORT" in r.json()["error"]["message"], r.text
