#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of the DNS fuzz targets: queries and responses as a real DNS library
(dnspython, Debian's python3-dnspython) puts them on the wire, plus hand-made malformed ones.
Run from the repository root: /usr/bin/python3 tests/fuzz/make_dns_corpus.py"""
import pathlib

import dns.edns
import dns.flags
import dns.message
import dns.rdatatype
import dns.rrset

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"


def queries():
    yield "a", dns.message.make_query("api.default.prisn.local", "A", use_edns=False)
    yield "a_edns", dns.message.make_query("api.default.prisn.local", "A", use_edns=0, payload=1232)
    yield "a_mixed_case", dns.message.make_query("Api.DEFAULT.prisn.local", "A")
    yield "srv_edns_do", dns.message.make_query("_http._tcp.api.default.prisn.local", "SRV", want_dnssec=True)
    yield "aaaa", dns.message.make_query("api.default.prisn.local", "AAAA")
    yield "soa_apex", dns.message.make_query("prisn.local", "SOA")
    yield "ns_apex", dns.message.make_query("prisn.local", "NS")
    yield "axfr", dns.message.make_query("prisn.local", "AXFR")
    yield "any", dns.message.make_query("api-1.api.default.prisn.local", "ANY")
    yield "forward", dns.message.make_query("www.example.com", "A")
    yield "cookie", dns.message.make_query("api.default.prisn.local", "A", use_edns=0,
                                           options=[dns.edns.GenericOption(10, b"\x01\x02\x03\x04\x05\x06\x07\x08")])
    edns1 = dns.message.make_query("api.default.prisn.local", "A", use_edns=1)
    yield "edns_version_1", edns1
    chaos = dns.message.make_query("version.bind", "TXT", "CH")
    yield "chaos_txt", chaos


def responses():
    q = dns.message.make_query("api.default.prisn.local", "A")
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_text("api.default.prisn.local.", 5, "IN", "A", "10.209.0.5", "10.209.0.6"))
    yield "resp_a", r
    q = dns.message.make_query("_http._tcp.api.default.prisn.local", "SRV")
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_text("_http._tcp.api.default.prisn.local.", 5, "IN", "SRV",
                                        "0 10 8080 api-0.api.default.prisn.local."))
    r.additional.append(dns.rrset.from_text("api-0.api.default.prisn.local.", 5, "IN", "A", "10.209.0.5"))
    yield "resp_srv", r
    q = dns.message.make_query("nope.example.com", "A")
    r = dns.message.make_response(q)
    r.set_rcode(dns.rcode.NXDOMAIN)
    r.authority.append(dns.rrset.from_text("example.com.", 300, "IN", "SOA",
                                           "ns.example.com. hostmaster.example.com. 1 3600 600 86400 60"))
    yield "resp_nxdomain", r
    q = dns.message.make_query("www.example.com", "AAAA")
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_text("www.example.com.", 60, "IN", "CNAME", "web.example.com."))
    r.answer.append(dns.rrset.from_text("web.example.com.", 60, "IN", "AAAA", "2001:db8::1"))
    r.answer.append(dns.rrset.from_text("web.example.com.", 60, "IN", "TXT", '"hello world"'))
    r.answer.append(dns.rrset.from_text("example.com.", 60, "IN", "MX", "10 mail.example.com."))
    yield "resp_mixed", r


MALFORMED = {
    "runt": b"\x12\x34\x01",
    "pointer_self": b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01",
    "pointer_forward": b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x20\x00\x01\x00\x01",
    "label_type_40": b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x41a\x00\x00\x01\x00\x01",
    "counts_lie": b"\x12\x34\x01\x00\xff\xff\xff\xff\xff\xff\xff\xff\x01a\x00\x00\x01\x00\x01",
    "trailing": b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01\xff\xff",
    "response_bit": b"\x12\x34\x81\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01",
    "notify_opcode": b"\x12\x34\x20\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x06\x00\x01",
}


def main():
    for target in ("dns_message", "dns_query"):
        out = ROOT / target
        out.mkdir(parents=True, exist_ok=True)
        for name, msg in list(queries()) + list(responses()):
            (out / name).write_bytes(msg.to_wire())
        for name, data in MALFORMED.items():
            (out / name).write_bytes(data)


if __name__ == "__main__":
    main()
