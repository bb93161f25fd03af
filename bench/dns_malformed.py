#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""100,000 malformed DNS packets over UDP: mutations (byte flips, cuts, splices, bogus counts
and pointers) of the fuzz corpus in tests/fuzz/corpus/dns_query that dnspython rejects. prisnd must not crash, must
still answer, and its resident memory must grow by less than 1 MiB."""
import json
import pathlib
import random
import socket
import sys
import time

import dns.message
import dns.query

from common import ROOT, Daemon, machine, rss_kib

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000


def malformed(rnd, seeds):
    """A mutation that dnspython does not accept as a message: malformed, not just unusual."""
    while True:
        data = mutate(rnd, seeds)
        try:
            dns.message.from_wire(data)
        except Exception:  # noqa: BLE001 - any parse failure is what we want
            return data


def mutate(rnd, seeds):
    data = bytearray(rnd.choice(seeds))
    for _ in range(rnd.randrange(1, 6)):
        op = rnd.randrange(5)
        if op == 0 and data:
            data[rnd.randrange(len(data))] = rnd.randrange(256)
        elif op == 1 and len(data) > 1:
            del data[rnd.randrange(1, len(data)):]
        elif op == 2:
            data += rnd.choice(seeds)[rnd.randrange(12):]
        elif op == 3 and len(data) >= 12:
            data[4 + 2 * rnd.randrange(4) + 1] = rnd.randrange(256)  # a section count
        elif op == 4 and len(data) > 14:
            at = rnd.randrange(12, len(data) - 1)
            data[at], data[at + 1] = 0xC0 | rnd.randrange(64), rnd.randrange(256)  # a compression pointer
    if len(data) >= 3:
        data[2] &= 0x7F  # keep most of them queries, so they are parsed rather than dropped
    return bytes(data)


def alive(host, port):
    q = dns.message.make_query("prisn.local", "SOA")
    return dns.query.udp(q, host, port=port, timeout=2).answer != []


def main():
    seeds = [p.read_bytes() for p in sorted((ROOT / "tests/fuzz/corpus/dns_query").iterdir())]
    rnd = random.Random(20261201)
    packets = [malformed(rnd, seeds) for _ in range(COUNT)]
    with Daemon(dns="127.0.0.1:0") as d:
        host, port = d.dns.rsplit(":", 1)
        port = int(port)
        assert alive(host, port)
        time.sleep(1)
        before = rss_kib(d.proc.pid)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        start = time.monotonic()
        for i in range(COUNT):
            sock.sendto(packets[i], (host, port))
            if i % 200 == 199:  # drain replies and pace, so the kernel drops as little as possible
                time.sleep(0.001)
                try:
                    while sock.recv(65535):
                        pass
                except BlockingIOError:
                    pass
        elapsed = time.monotonic() - start
        time.sleep(1)
        ok = d.proc.poll() is None and alive(host, port)
        after = rss_kib(d.proc.pid)
    growth = (after - before) / 1024
    print(json.dumps({"benchmark": "dns_malformed", "machine": machine(), "packets": COUNT,
                      "seconds": round(elapsed, 1), "still_answering": ok, "rss_before_MiB": round(before / 1024, 2),
                      "rss_after_MiB": round(after / 1024, 2), "rss_growth_MiB": round(growth, 3),
                      "target": "no crash, RSS growth < 1 MiB", "pass": ok and growth < 1}, indent=2))


if __name__ == "__main__":
    main()
