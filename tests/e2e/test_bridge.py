# SPDX-License-Identifier: MIT
"""Bridge network mode (SPEC §7.1) and network policies enforced with nftables (§7.6): a real
prisnd as root puts each instance in its own network namespace on prisn0, and these tests
reach the instances from the node, through the published port, from other workloads and
through prisn DNS."""
import ipaddress
import json
import os
import pathlib
import shutil
import socket
import subprocess

import dns.message
import dns.query
import dns.rdatatype
import pytest
import requests

from conftest import free_port, wait_until

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("nft"),
    reason="bridge mode needs root, iproute2 and nftables (packaging/install-deps.sh installs them)")

SUBNET = ipaddress.ip_network("10.231.0.0/24")
GATEWAY = "10.231.0.1"

# Answers / with who it is, /dns with what its resolver says of NAME, /hosts with its
# /etc/hosts, /probe?to=HOST:PORT with whether it can open a connection there, and
# /api?path=P with the status and body of GET $PRISN_API/P, /fetch?url=U[&host=H] with the body
# of GET U (with Host H), or its status and body when that is an error.
APP = """\
import os, socket, urllib.error, urllib.parse, urllib.request
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/dns":
            try:
                out = ",".join(sorted({a[4][0] for a in socket.getaddrinfo(q["name"], 80, socket.AF_INET)}))
            except OSError as e:
                out = "error: %s" % e
        elif url.path == "/hosts":
            out = open("/etc/hosts").read()
        elif url.path == "/api":
            try:
                with urllib.request.urlopen(os.environ["PRISN_API"] + q["path"], timeout=3) as r:
                    out = "%d %s" % (r.status, r.read().decode())
            except urllib.error.HTTPError as e:
                out = "%d %s" % (e.code, e.read().decode())
            except OSError as e:
                out = "error: %s" % e
        elif url.path == "/fetch":
            try:
                req = urllib.request.Request(q["url"], headers={"Host": q["host"]} if "host" in q else {})
                with urllib.request.urlopen(req, timeout=3) as r:
                    out = r.read().decode()
            except urllib.error.HTTPError as e:
                out = "%d %s" % (e.code, e.read().decode())
            except OSError as e:
                out = "error: %s" % e
        elif url.path == "/probe":
            host, port = q["to"].rsplit(":", 1)
            try:
                socket.create_connection((host, int(port)), timeout=1.5).close()
                out = "open"
            except OSError:
                out = "closed"
        else:
            out = "%s %s" % (os.environ["PRISN_INSTANCE"], os.environ["PORT"])
        body = out.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

ThreadingHTTPServer((os.environ.get("BIND", ""), int(os.environ["PORT"])), Handler).serve_forever()
"""


@pytest.fixture
def bridged(daemon_factory, tmp_path):
    config = tmp_path / "prisn.yaml"
    config.write_text(f"network:\n  mode: bridge\n  subnet: {SUBNET}\n")
    d = daemon_factory(extra_args=["--config", str(config), "--network", "bridge"])
    yield d
    d.stop()


def deploy(d, scripts, name, port, replicas=1, env=()):
    d.cli("deploy", scripts(f"{name}.py", APP), "--name", name, "--port", str(port), "--replicas",
          str(replicas), "--health-path", "/", *[a for kv in env for a in ("--env", kv)], check=True)
    d.wait_ready(name, replicas)
    return d.endpoints(name)


def get(url, **kw):
    return requests.get(url, timeout=5, **kw).text


def netns_names():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def netns_of(pid):
    return subprocess.run(["ip", "netns", "identify", str(pid)], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_each_instance_has_its_own_address_and_listens_on_the_deployments_port(bridged, scripts):
    port = free_port()
    eps = deploy(bridged, scripts, "web", port, replicas=2)
    ips = [ep["ip"] for ep in eps]
    assert len(set(ips)) == 2, eps
    for ep in eps:
        assert ipaddress.ip_address(ep["ip"]) in SUBNET and ep["ip"] != GATEWAY
        assert ep["ports"] == {"http": port}
        # Its own network namespace, not the node's.
        assert os.readlink(f"/proc/{ep['pid']}/ns/net") != os.readlink("/proc/self/ns/net")
        assert get(f"http://{ep['ip']}:{port}/") == f"{ep['instance']} {port}"
    # The gateway is the node's, on prisn0.
    addr = subprocess.run(["ip", "-4", "-br", "addr", "show", "dev", "prisn0"], capture_output=True, text=True)
    assert f"{GATEWAY}/24" in addr.stdout
    # The deployment's port is published on the node and balanced over both instances.
    seen = {get(f"http://127.0.0.1:{port}/").split()[0] for _ in range(10)}
    assert seen == {"web-0", "web-1"}


def test_prisn_dns_answers_with_instance_addresses_inside_and_outside_workloads(bridged, scripts):
    port = free_port()
    eps = deploy(bridged, scripts, "web", port, replicas=2)
    ips = sorted(ep["ip"] for ep in eps)
    host, dns_port = bridged.dns
    answer = dns.query.udp(dns.message.make_query("web.default.prisn.local", "A"), host, port=dns_port, timeout=3)
    assert sorted(r.address for rrset in answer.answer for r in rrset) == ips
    srv = dns.query.udp(dns.message.make_query("_http._tcp.web.default.prisn.local", "SRV"), host, port=dns_port,
                        timeout=3)
    assert {r.port for rrset in srv.answer for r in rrset} == {port}  # the deployment's port, in bridge mode
    # Inside a workload, the resolver is prisn DNS through the gateway.
    inside = f"http://{eps[0]['ip']}:{port}"
    assert get(f"{inside}/dns", params={"name": "web.default.prisn.local"}) == ",".join(ips)
    assert get(f"{inside}/dns", params={"name": "web-1.web.default.prisn.local"}) == eps[1]["ip"]
    # short names, through the search list (its namespace's domain first), as in a pod
    assert get(f"{inside}/dns", params={"name": "web"}) == ",".join(ips)
    assert get(f"{inside}/dns", params={"name": "web.default"}) == ",".join(ips)
    hosts = get(f"{inside}/hosts")
    assert f"{eps[0]['ip']}\tweb-0.web.default.prisn.local web-0" in hosts
    assert "localhost" in hosts


def test_an_instance_reaches_the_api_at_its_prisn_api(bridged, scripts):
    port = free_port()
    ep = deploy(bridged, scripts, "web", port)[0]
    # PRISN_API names the gateway and the API's port: the node's loopback is not in the
    # instance's namespace.
    environ = pathlib.Path(f"/proc/{ep['pid']}/environ").read_bytes().split(b"\0")
    api_port = bridged.api.rsplit(":", 1)[1]
    assert f"PRISN_API=http://{GATEWAY}:{api_port}".encode() in environ
    # The instance is trusted with no token, as a workload on loopback is in host mode.
    out = get(f"http://{ep['ip']}:{port}/api", params={"path": "/api/v1/deployments/web"})
    status, body = out.split(" ", 1)
    assert status == "200", out
    assert json.loads(body)["name"] == "web"
    # And at localhost:PORT of the API, as the seed's scripts call it from the node.
    out = get(f"http://{ep['ip']}:{port}/fetch", params={"url": f"http://localhost:{api_port}/api/v1/deployments/web"})
    assert json.loads(out)["name"] == "web", out


def test_an_instance_resolves_the_node_host_name_from_its_hosts_file(bridged, scripts):
    port = free_port()
    ep = deploy(bridged, scripts, "web", port)[0]
    hosts = get(f"http://{ep['ip']}:{port}/hosts")
    assert f"{ep['ip']}\tweb-0.web.default.prisn.local web-0 {os.uname().nodename}" in hosts, hosts
    # So a lookup of it never leaves the instance (Python's HTTPServer makes one on bind).
    assert get(f"http://{ep['ip']}:{port}/dns", params={"name": os.uname().nodename}) == ep["ip"]


def test_an_exec_check_runs_in_the_instances_namespaces(bridged, scripts):
    port = free_port()
    deploy(bridged, scripts, "web", port)
    # Its check resolves a prisn name: only with the instance's resolv.conf (its mount
    # namespace) and address (its network namespace) does that pass.
    check = ["python3", "-c", "import socket, sys; sys.exit(0 if socket.gethostbyname('web.default.prisn.local')"
             f" and socket.create_connection(('web.default.prisn.local', {port}), 2) else 1)"]
    r = bridged.post("/api/v1/deployments", {"name": "checked", "filename": "checked.py", "source": APP,
                                              "port": free_port(),
                                              "healthCheck": {"exec": {"command": check}, "interval": "1s"}})
    assert r.status_code == 201, r.text
    bridged.wait_ready("checked", 1)


def test_even_the_first_exec_check_runs_in_the_instances_mount_namespace(bridged, tmp_path):
    """The first check of a new instance could join its mount namespace before the instance
    had made it, and run in prisnd's (the node's resolv.conf): a race, so several instances."""
    seen = tmp_path / "seen"
    seen.mkdir()
    check = ["sh", "-c", f"readlink /proc/self/ns/mnt >> {seen}/$PRISN_INSTANCE"]
    names = [f"mnt{i}" for i in range(6)]
    for name in names:
        r = bridged.post("/api/v1/deployments", {"name": name, "filename": "app.py", "source": APP, "port": free_port(),
                                                  "healthCheck": {"exec": {"command": check}, "interval": "1s"}})
        assert r.status_code == 201, r.text
    for name in names:
        bridged.wait_ready(name, 1)
    nodes = os.readlink(f"/proc/{bridged.proc.pid}/ns/mnt")
    for name in names:
        first = (seen / f"{name}-0").read_text().splitlines()[0]
        assert first != nodes, f"{name}-0's first check ran in prisnd's mount namespace"


def test_a_network_policy_lets_only_the_listed_deployments_reach_the_target(bridged, scripts):
    port = free_port()
    target = deploy(bridged, scripts, "db", port)[0]
    allowed = deploy(bridged, scripts, "allowed", free_port())[0]
    denied = deploy(bridged, scripts, "denied", free_port())[0]

    def probe(source, to):
        return get(f"http://{source['ip']}:{source['ports']['http']}/probe", params={"to": to})

    direct, published = f"{target['ip']}:{port}", f"{GATEWAY}:{port}"
    assert probe(denied, direct) == "open"  # no policy: open
    policy = scripts("policy.yaml", f"""\
apiVersion: prisn.io/v1
kind: NetworkPolicy
metadata:
  name: db-access
spec:
  target:
    deployment: db
  ingress:
    - from:
        - deployment: allowed
      ports: [{port}]
""")
    bridged.cli("apply", "-f", policy, check=True)
    listed = bridged.cli("get", "networkpolicies", check=True).stdout
    assert "ENFORCED" in listed and "yes" in listed.splitlines()[1], listed
    assert bridged.get("/api/v1/networkpolicies/db-access").json()["enforced"] is True
    assert probe(allowed, direct) == "open"
    assert probe(allowed, published) == "open"
    assert probe(denied, direct) == "closed"
    assert probe(denied, published) == "closed"  # the node's published port is guarded too
    assert get(f"http://{direct}/").startswith("db-0")  # the node itself is never filtered
    # A new instance of the allowed deployment is let in, a new one of the target guarded.
    bridged.cli("scale", "allowed", "2", check=True)
    bridged.wait_ready("allowed", 2)
    second = [ep for ep in bridged.endpoints("allowed") if ep["instance"] == "allowed-1"][0]
    assert probe(second, direct) == "open"
    bridged.cli("scale", "db", "2", check=True)
    bridged.wait_ready("db", 2)
    new_db = [ep for ep in bridged.endpoints("db") if ep["instance"] == "db-1"][0]
    assert probe(denied, f"{new_db['ip']}:{port}") == "closed"
    bridged.cli("delete", "networkpolicy", "db-access", check=True)
    assert probe(denied, direct) == "open"


# A run's probe: whether it can open a TCP connection to each HOST:PORT in its arguments.
PROBE = """\
import socket, sys
for to in sys.argv[1:]:
    host, port = to.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1.5).close()
        print(to, "open")
    except OSError:
        print(to, "closed")
"""


def test_a_network_policy_lets_only_the_listed_deployments_runs_reach_the_target(bridged, scripts):
    """Runs (jobs, cron, `prisn run`) use the node's network, not the bridge: the filter tells
    them apart by their cgroup, so a job of an allowed deployment gets through and others'
    runs do not, directly or through the target's published port."""
    port = free_port()
    target = deploy(bridged, scripts, "db", port)[0]
    direct, published = f"{target['ip']}:{port}", f"127.0.0.1:{port}"
    probe = scripts("probe.py", PROBE)
    for job in ("allowed", "denied"):
        r = bridged.post("/api/v1/deployments", {"name": job, "type": "job", "filename": "probe.py", "source": PROBE,
                                                 "args": [direct, published]})
        assert r.status_code == 201, r.text

    def reach(job):
        out = bridged.cli("trigger", job, "--wait", check=True).stdout
        return dict(line.split() for line in out.splitlines() if line.endswith((" open", " closed")))

    assert reach("denied") == {direct: "open", published: "open"}  # no policy: open
    r = bridged.post("/api/v1/networkpolicies", {"name": "db-access", "target": {"deployment": "db"},
                                                 "ingress": [{"from": [{"deployment": "allowed"}], "ports": [port]}]})
    assert r.status_code == 201, r.text
    assert reach("allowed") == {direct: "open", published: "open"}
    assert reach("denied") == {direct: "closed", published: "closed"}
    adhoc = bridged.cli("run", probe, "--", direct, published, check=True).stdout
    assert adhoc.split() == [direct, "closed", published, "closed"], adhoc  # a run of no deployment
    assert get(f"http://{direct}/").startswith("db-0")  # the node itself is never filtered
    assert bridged.delete("/api/v1/networkpolicies/db-access").status_code == 200
    assert reach("denied") == {direct: "open", published: "open"}


def test_a_policy_on_a_job_says_it_is_not_enforced(bridged, scripts):
    """A job's runs use the node's network, where they have no address to guard: the policy must not
    claim to hold."""
    bridged.cli("deploy", scripts("nightly.py", "print(1)\n"), "--name", "nightly", check=True)
    body = {"name": "nightly-guard", "target": {"deployment": "nightly"}, "ingress": []}
    assert bridged.post("/api/v1/networkpolicies", body).status_code == 201
    policy = bridged.get("/api/v1/networkpolicies/nightly-guard").json()
    assert policy["enforced"] is False
    assert "'nightly' is a job deployment, whose runs use the node's network" in policy["reason"], policy
    row = bridged.cli("get", "networkpolicies", check=True).stdout.splitlines()[1]
    assert row.split()[0] == "nightly-guard" and " no " in f" {row} ", row


def test_a_network_policy_holds_for_requests_through_the_l7_router(daemon_factory, scripts, tmp_path):
    config = tmp_path / "prisn.yaml"
    config.write_text(f"network:\n  mode: bridge\n  subnet: {SUBNET}\n")
    # The router on every address, as by default: instances reach it at the gateway.
    d = daemon_factory(extra_args=["--config", str(config), "--network", "bridge", "--http", "0.0.0.0:0"])
    router_port = d.http.rsplit(":", 1)[1]
    deploy(d, scripts, "db", free_port())
    allowed = deploy(d, scripts, "allowed", free_port())[0]
    denied = deploy(d, scripts, "denied", free_port())[0]
    r = d.post("/api/v1/ingresses", {"name": "db", "rules": [{"host": "db.test", "paths": [{"path": "/", "deployment": "db"}]}]})
    assert r.status_code == 201, r.text

    def through_router(source):
        return get(f"http://{source['ip']}:{source['ports']['http']}/fetch",
                   params={"url": f"http://{GATEWAY}:{router_port}/", "host": "db.test"})

    assert through_router(denied).startswith("db-0")  # no policy: open
    r = d.post("/api/v1/networkpolicies", {"name": "db-access", "target": {"deployment": "db"},
                                           "ingress": [{"from": [{"deployment": "allowed"}]}]})
    assert r.status_code == 201, r.text
    assert through_router(allowed).startswith("db-0")
    out = through_router(denied)
    assert out.startswith("403 ") and "network policy" in out, out
    # Clients that are not instances (the node here) are not affected.
    assert requests.get(f"http://127.0.0.1:{router_port}/", headers={"Host": "db.test"}, timeout=5).text.startswith("db-0")
    assert d.delete("/api/v1/networkpolicies/db-access").status_code == 200
    assert through_router(denied).startswith("db-0")
    d.stop()


def test_namespaces_go_with_their_instances_and_a_restart_keeps_addresses(bridged, scripts, daemon_factory):
    port = free_port()
    eps = deploy(bridged, scripts, "web", port, replicas=2)
    names = {netns_of(ep["pid"]) for ep in eps}
    assert len(names) == 2 and all(n.startswith("prisn-in-") for n in names), names
    assert names <= netns_names()
    # prisnd killed outright: the instances keep running, and the next prisnd re-adopts them
    # with the addresses they have.
    bridged.kill9()
    bridged.start()
    again = bridged.endpoints("web")
    assert sorted((ep["pid"], ep["ip"]) for ep in again) == sorted((ep["pid"], ep["ip"]) for ep in eps)
    assert get(f"http://{eps[1]['ip']}:{port}/").startswith("web-1")
    # Their namespaces' redirects are rewritten: web-1 reaches web's published port (its own
    # deployment's, so on its own loopback) and a service deployed after the restart.
    other_port = free_port()
    deploy(bridged, scripts, "other", other_port)
    inside = f"http://{eps[1]['ip']}:{port}"
    wait_until(lambda: get(f"{inside}/fetch", params={"url": f"http://localhost:{other_port}/"}).startswith("other-0"),
               5, message="localhost:PORT of a new service from an adopted instance")
    assert get(f"{inside}/fetch", params={"url": f"http://localhost:{port}/"}) == f"web-1 {port}"
    bridged.cli("delete", "web", check=True)
    wait_until(lambda: not (names & netns_names()), 15, message="the instances' namespaces to go")
    bridged.stop()
    # A graceful stop removes the ruleset; the bridge stays, as docker0 does.
    assert subprocess.run(["nft", "list", "table", "ip", "prisn"], capture_output=True).returncode != 0
    assert pathlib.Path("/sys/class/net/prisn0").exists()


def test_a_workload_that_binds_loopback_is_reachable_on_its_address(bridged, scripts):
    # Scripts written for a laptop listen on 127.0.0.1; in bridge mode the instance's own
    # address leads there, so health checks, the published port and other workloads reach it.
    port = free_port()
    ep = deploy(bridged, scripts, "local", port, env=["BIND=127.0.0.1"])[0]
    assert bridged.deployment("local")["status"]["ready_replicas"] == 1
    assert get(f"http://{ep['ip']}:{port}/") == f"local-0 {port}"
    assert get(f"http://127.0.0.1:{port}/") == f"local-0 {port}"
    other = deploy(bridged, scripts, "other", free_port())[0]
    assert get(f"http://{other['ip']}:{other['ports']['http']}/fetch",
               params={"url": f"http://local.default.prisn.local:{port}/"}) == f"local-0 {port}"


def test_localhost_port_of_another_service_leads_to_its_published_port(bridged, scripts):
    # As in host mode, a workload reaches another service at localhost:ITS_PORT; its own
    # port on localhost stays its own.
    api_port, web_port = free_port(), free_port()
    deploy(bridged, scripts, "api", api_port, replicas=2)
    web = deploy(bridged, scripts, "web", web_port)[0]
    inside = f"http://{web['ip']}:{web_port}"
    seen = {get(f"{inside}/fetch", params={"url": f"http://localhost:{api_port}/"}).split()[0] for _ in range(8)}
    assert seen == {"api-0", "api-1"}
    assert get(f"{inside}/fetch", params={"url": f"http://127.0.0.1:{web_port}/"}) == f"web-0 {web_port}"
    # A port no service publishes stays closed on the instance's own loopback.
    assert get(f"{inside}/probe", params={"to": f"127.0.0.1:{free_port()}"}) == "closed"
    # A service deployed later is reached the same way from instances already running.
    late_port = free_port()
    deploy(bridged, scripts, "late", late_port)
    wait_until(lambda: get(f"{inside}/fetch", params={"url": f"http://localhost:{late_port}/"}) == f"late-0 {late_port}",
               5, message="localhost:PORT of the later service from web-0")


def test_root_without_network_flag_runs_in_bridge_mode(daemon_factory, scripts):
    d = daemon_factory(network="default")
    port = free_port()
    ep = deploy(d, scripts, "web", port)[0]
    assert ipaddress.ip_address(ep["ip"]) in ipaddress.ip_network("10.209.0.0/16"), ep
    assert get(f"http://127.0.0.1:{port}/") == f"web-0 {port}"
    d.stop()


def test_a_second_prisnd_cannot_take_the_bridge(bridged, daemon_factory):
    other = daemon_factory(extra_args=["--network", "bridge"], start=False)
    other.start(wait=False)
    assert other.proc.wait(20) != 0
    assert "in use by another prisnd" in other.read_log()


def nft_has_prisn_table():
    out = subprocess.run(["nft", "list", "tables", "ip"], capture_output=True, text=True, check=True).stdout
    return "table ip prisn" in out


def test_a_start_that_fails_removes_the_ruleset_it_installed(tmp_path):
    """The bridge's nftables ruleset is installed before the listeners bind: a start that then
    fails (here the API's address is taken) must not leave it behind."""
    if nft_has_prisn_table():
        pytest.skip("another bridge-mode prisnd owns the ruleset now")
    from conftest import PRISND
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        api = "127.0.0.1:%d" % taken.getsockname()[1]
        proc = subprocess.run([PRISND, "--data-dir", str(tmp_path / "data"), "--api", api, "--dns", "off",
                               "--http", "off", "--https", "off", "--network", "bridge"],
                              capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert "bridge mode on prisn0" in proc.stderr + proc.stdout  # it got as far as the ruleset
    assert "address already in use" in proc.stderr + proc.stdout
    assert not nft_has_prisn_table()
