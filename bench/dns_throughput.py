#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""prisn DNS against NSD (the fastest authoritative server measured on these machines) and
dnsmasq, serving the same names, with dnsperf, in one run. The names are prisn's own: a
service with 3 instances; NSD and dnsmasq get a zone copied from prisn's answers.
Kinds: A (api.default.prisn.local), SRV (_http._tcp.api..., 3 records + 3 glue A) and
NXDOMAIN. Each measurement: dnsperf -c 4 -T 1 -v for DURATION seconds; qps, p50/p99 from the
per-query latencies, and the server's CPU (% of one core). Servers alternate, two rounds.
Targets: prisn >= 1.0x NSD's queries/s, never below dnsmasq.
Needs dnsperf, nsd and dnsmasq (packaging/install-deps.sh --bench)."""
import json
import os
import pathlib
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import dns.message
import dns.query
import dns.rdatatype

from common import TICKS, Daemon, cpu_ticks, free_port, machine, percentile, require_tools, wait_ready

DURATION = int(sys.argv[1]) if len(sys.argv) > 1 else 8
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 2

SERVICE = """\
import os, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["PORT"])))
s.listen(64)
while True:
    c, _ = s.accept()
    c.close()
"""

QUERIES = {"A": "api.default.prisn.local A", "SRV": "_http._tcp.api.default.prisn.local SRV",
           "NXDOMAIN": "nope.default.prisn.local A"}
EXPECTED_RCODE = {"A": "NOERROR", "SRV": "NOERROR", "NXDOMAIN": "NXDOMAIN"}


def prisn_records(host, port):
    """What prisn answers: the A address, the SRV (port, target) list."""
    def ask(name, rdtype):
        return dns.query.udp(dns.message.make_query(name, rdtype, use_edns=0), host, port=port, timeout=2)
    a = [rr.address for rrset in ask("api.default.prisn.local", "A").answer for rr in rrset]
    srv = [(rr.port, rr.target.to_text()) for rrset in ask("_http._tcp.api.default.prisn.local", "SRV").answer
           for rr in rrset]
    return a, sorted(srv)


def start_nsd(workdir, a, srv):
    port = free_port()
    zone = ["$ORIGIN prisn.local.", "$TTL 5", "@ IN SOA ns.prisn.local. hostmaster.prisn.local. 1 3600 600 86400 5",
            "@ IN NS ns.prisn.local.", "ns IN A 127.0.0.1"]
    zone += [f"api.default IN A {ip}" for ip in a]
    for p, target in srv:
        zone.append(f"_http._tcp.api.default IN SRV 0 10 {p} {target}")
        zone.append(f"{target} IN A 127.0.0.1")
    (workdir / "prisn.local.zone").write_text("\n".join(zone) + "\n")
    # Debian's NSD rate-limits responses per /24 by default: off, or dnsperf measures RRL.
    (workdir / "nsd.conf").write_text(f"""server:
  ip-address: 127.0.0.1@{port}
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "{workdir}"
  database: ""
  zonelistfile: "{workdir}/zone.list"
  xfrdfile: "{workdir}/xfrd.state"
  pidfile: "{workdir}/nsd.pid"
  verbosity: 0
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: prisn.local
  zonefile: prisn.local.zone
""")
    proc = subprocess.Popen(["nsd", "-d", "-c", str(workdir / "nsd.conf")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    return proc, port


def start_dnsmasq(workdir, a, srv):
    port = free_port()
    args = ["dnsmasq", "-k", "--no-resolv", "--no-hosts", "-C", "/dev/null", f"--port={port}",
            "--listen-address=127.0.0.1", "--bind-interfaces", "--local=/prisn.local/", "--local-ttl=5",
            f"--pid-file={workdir}/dnsmasq.pid"] + (["--user=root"] if os.geteuid() == 0 else [])
    args += [f"--host-record=api.default.prisn.local,{ip}" for ip in a]
    for p, target in srv:
        t = target.rstrip(".")
        args += [f"--srv-host=_http._tcp.api.default.prisn.local,{t},{p},0,10", f"--host-record={t},127.0.0.1"]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), port


def process_tree(pid):
    """pid and all its descendants (NSD forks a transfer process, which forks the server)."""
    parents = {}
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    tree = [pid]
    for p in tree:
        tree += [child for child, parent in parents.items() if parent == p]
    return tree


def dnsperf(port, query_file, pids):
    before = cpu_ticks(pids)
    start = time.monotonic()
    out = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(query_file), "-l", str(DURATION),
                          "-c", "4", "-T", "1", "-v"], capture_output=True, text=True, check=True).stdout
    elapsed = time.monotonic() - start
    cpu = (cpu_ticks(pids) - before) / TICKS / elapsed * 100
    latencies, rcodes = [], {}
    for line in out.splitlines():
        if line.startswith("> "):
            parts = line.split()
            rcodes[parts[1]] = rcodes.get(parts[1], 0) + 1
            latencies.append(float(parts[-1]) * 1e6)
    qps = float(re.search(r"Queries per second:\s+([\d.]+)", out).group(1))
    lost = re.search(r"Queries lost:\s+(\d+)", out).group(1)
    return {"qps": round(qps), "p50_us": round(percentile(latencies, 50)), "p99_us": round(percentile(latencies, 99)),
            "cpu_pct_of_core": round(cpu, 1), "lost": int(lost), "rcodes": rcodes}


def main():
    require_tools("dns", ("dnsperf", "nsd", "dnsmasq"))
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="prisn-bench-dns-"))
    files = {}
    for kind, line in QUERIES.items():
        files[kind] = workdir / f"{kind}.txt"
        files[kind].write_text(line + "\n")
    script = workdir / "svc.py"
    script.write_text(SERVICE)
    results = {"benchmark": "dns", "machine": machine(), "dnsperf": f"-c 4 -T 1 -v -l {DURATION}", "rounds": ROUNDS}
    procs = []
    with Daemon(dns="127.0.0.1:0") as d:
        d.cli("deploy", str(script), "--name", "api", "--port", str(free_port()), "--replicas", "3")
        wait_ready(d, "api", 3)
        host, port = d.dns.rsplit(":", 1)
        for _ in range(100):
            a, srv = prisn_records(host, int(port))
            if len(srv) == 3:
                break
            time.sleep(0.1)
        nsd, nsd_port = start_nsd(workdir, a, srv)
        dnsmasq, dnsmasq_port = start_dnsmasq(workdir, a, srv)
        procs = [nsd, dnsmasq]
        time.sleep(1)
        servers = {"prisn": (int(port), [d.proc.pid]), "nsd": (nsd_port, process_tree(nsd.pid)),
                   "dnsmasq": (dnsmasq_port, [dnsmasq.pid])}
        for name, (p, _) in servers.items():
            a2, srv2 = prisn_records("127.0.0.1", p)
            assert (a2, srv2) == (a, srv), f"{name} does not serve the same records: {a2} {srv2}"
        runs = {kind: {name: [] for name in servers} for kind in QUERIES}
        order = list(servers)
        for r in range(ROUNDS):
            for kind in QUERIES:
                for name in order[r % 3:] + order[:r % 3]:
                    p, pids = servers[name]
                    m = dnsperf(p, files[kind], pids)
                    assert set(m["rcodes"]) == {EXPECTED_RCODE[kind]}, (name, kind, m["rcodes"])
                    runs[kind][name].append(m)
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    shutil.rmtree(workdir, ignore_errors=True)

    summary = {}
    for kind, by_server in runs.items():
        med = {name: {k: statistics.median(m[k] for m in ms) for k in ("qps", "p50_us", "p99_us", "cpu_pct_of_core")}
               for name, ms in by_server.items()}
        summary[kind] = {"median": med, "prisn_vs_nsd": round(med["prisn"]["qps"] / med["nsd"]["qps"], 3),
                         "prisn_vs_dnsmasq": round(med["prisn"]["qps"] / med["dnsmasq"]["qps"], 3)}
    results["runs"] = runs
    results["summary"] = summary
    results["target"] = "prisn >= 1.0x NSD queries/s and >= dnsmasq, for A and SRV"
    results["pass"] = all(summary[k]["prisn_vs_nsd"] >= 1.0 and summary[k]["prisn_vs_dnsmasq"] >= 1.0
                          for k in ("A", "SRV"))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
