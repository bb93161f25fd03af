// SPDX-License-Identifier: MIT
#include "prisn/dns/query.hpp"

#include "prisn/dns/message.hpp"

namespace prisn::dns {
namespace {

std::uint16_t u16_at(std::span<const std::uint8_t> w, std::size_t at) {
  return static_cast<std::uint16_t>(w[at] << 8 | w[at + 1]);
}

// The question name at offset 12, uncompressed; returns its wire size or 0 when malformed.
std::size_t read_qname(std::span<const std::uint8_t> wire, QueryHead& head) {
  std::size_t at = 12;
  std::size_t out = 0;
  for (;;) {
    if (at >= wire.size()) return 0;
    const std::uint8_t len = wire[at];
    if (len == 0) return at + 1 - 12;
    if ((len & 0xC0) != 0) return 0;  // pointers in the first name can only point into the header
    if (at + 1 + len > wire.size() || out + 1 + len + 1 > kMaxNameWire) return 0;
    head.lower[out++] = static_cast<char>(len);
    for (std::size_t i = 0; i < len; ++i) head.lower[out++] = ascii_lower(static_cast<char>(wire[at + 1 + i]));
    at += 1 + len;
  }
}

// The OPT record at `at`, which must end the message.
bool read_opt(std::span<const std::uint8_t> wire, std::size_t at, QueryHead& head) {
  // root name (1) + type (2) + class (2) + ttl (4) + rdlength (2)
  if (wire.size() < at + 11 || wire[at] != 0 || u16_at(wire, at + 1) != type::kOpt) return false;
  const std::uint16_t rdlen = u16_at(wire, at + 9);
  if (wire.size() != at + 11 + rdlen) return false;
  head.edns = true;
  head.udp_size = u16_at(wire, at + 3);
  head.edns_version = wire[at + 6];
  head.dnssec_ok = (wire[at + 7] & 0x80) != 0;
  return true;
}

}  // namespace

QueryStatus parse_query_head(std::span<const std::uint8_t> wire, QueryHead& head) {
  if (wire.size() < 12) return QueryStatus::kDrop;
  head.id = u16_at(wire, 0);
  head.flags = u16_at(wire, 2);
  if ((head.flags & 0x8000) != 0) return QueryStatus::kDrop;  // a response: answering could loop
  if (head.opcode() != kOpcodeQuery) return QueryStatus::kNotImp;
  const std::uint16_t qd = u16_at(wire, 4), an = u16_at(wire, 6), ns = u16_at(wire, 8), ar = u16_at(wire, 10);
  if (qd != 1 || an != 0 || ns != 0 || ar > 1) return QueryStatus::kFormErr;
  head.qname_size = read_qname(wire, head);
  if (head.qname_size == 0) return QueryStatus::kFormErr;
  const std::size_t end = head.question_end();
  if (wire.size() < end) return QueryStatus::kFormErr;
  head.qtype = u16_at(wire, end - 4);
  head.qclass = u16_at(wire, end - 2);
  head.edns = false;
  if (ar == 1) {
    if (!read_opt(wire, end, head)) return QueryStatus::kFormErr;
  } else if (wire.size() != end) {
    return QueryStatus::kFormErr;
  }
  return QueryStatus::kOk;
}

}  // namespace prisn::dns
