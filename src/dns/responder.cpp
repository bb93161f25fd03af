// SPDX-License-Identifier: MIT
// Authoritative answers written straight into the reply buffer: the question is copied from
// the query (so its case is echoed), and every owner name is a compression pointer into it.
#include "prisn/dns/responder.hpp"

#include <algorithm>

#include "prisn/dns/message.hpp"

namespace prisn::dns {
namespace {

constexpr std::uint16_t kOurUdpSize = 1232;  // what we accept over UDP (DNS flag day 2020)
constexpr std::size_t kOptSize = 11;
constexpr std::uint32_t kSoaRefresh = 3600, kSoaRetry = 600, kSoaExpire = 86400;
constexpr std::size_t kMaxPointer = 0x3FFF;

class ReplyWriter {
 public:
  explicit ReplyWriter(std::vector<std::uint8_t>& out) : out_(out) { out_.clear(); }

  std::size_t size() const { return out_.size(); }
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) {
    out_.push_back(static_cast<std::uint8_t>(v >> 8));
    out_.push_back(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void bytes(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  void pointer(std::size_t offset) { u16(static_cast<std::uint16_t>(0xC000 | offset)); }
  void put_u16_at(std::size_t at, std::uint16_t v) {
    out_[at] = static_cast<std::uint8_t>(v >> 8);
    out_[at + 1] = static_cast<std::uint8_t>(v);
  }
  void truncate(std::size_t n) { out_.resize(n); }

 private:
  std::vector<std::uint8_t>& out_;
};

struct Counts {
  std::uint16_t an = 0, ns = 0, ar = 0;
};

std::uint16_t reply_flags(const QueryHead& h, bool aa, bool tc, bool ra, std::uint16_t rcode) {
  // Opcode, RD and CD come from the query (RFC 1035 §4.1.1, RFC 4035 §3.1.6).
  auto f = static_cast<std::uint16_t>(0x8000 | (h.flags & 0x7910) | (rcode & 0xF));
  if (aa) f |= 0x0400;
  if (tc) f |= 0x0200;
  if (ra) f |= 0x0080;
  return f;
}

// Header with zero counts, then the question copied from the query when `with_question`.
void begin(ReplyWriter& w, const QueryHead& h, std::span<const std::uint8_t> query, bool with_question,
           std::uint16_t flags) {
  w.u16(h.id);
  w.u16(flags);
  w.u16(with_question ? 1 : 0);
  w.u16(0);
  w.u16(0);
  w.u16(0);
  if (with_question) w.bytes(query.data() + 12, h.question_end() - 12);
}

void write_opt(ReplyWriter& w, const QueryHead& h, std::uint16_t rcode) {
  w.u8(0);
  w.u16(type::kOpt);
  w.u16(kOurUdpSize);
  w.u32(static_cast<std::uint32_t>(rcode >> 4) << 24 | (h.dnssec_ok ? 0x8000U : 0U));
  w.u16(0);
}

void finish(ReplyWriter& w, const QueryHead& h, Counts c, std::uint16_t rcode) {
  if (h.edns) {
    write_opt(w, h, rcode);
    ++c.ar;
  }
  w.put_u16_at(6, c.an);
  w.put_u16_at(8, c.ns);
  w.put_u16_at(10, c.ar);
}

void record_head(ReplyWriter& w, std::size_t owner, std::uint16_t type, std::uint32_t ttl, std::uint16_t rdlen) {
  w.pointer(owner);
  w.u16(type);
  w.u16(kClassIn);
  w.u32(ttl);
  w.u16(rdlen);
}

void a_record(ReplyWriter& w, std::size_t owner, std::uint32_t ttl, const Ipv4& ip) {
  record_head(w, owner, type::kA, ttl, 4);
  w.bytes(ip.data(), ip.size());
}

// SOA with owner and both names pointing at the zone apex inside the question.
void soa_record(ReplyWriter& w, const Zone& zone, std::size_t apex) {
  constexpr std::uint8_t kNs[] = {2, 'n', 's'};
  constexpr std::uint8_t kHostmaster[] = {10, 'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r'};
  const std::uint32_t ttl = zone.options().ttl;
  record_head(w, apex, type::kSoa, ttl, sizeof kNs + 2 + sizeof kHostmaster + 2 + 20);
  w.bytes(kNs, sizeof kNs);
  w.pointer(apex);
  w.bytes(kHostmaster, sizeof kHostmaster);
  w.pointer(apex);
  for (auto v : {zone.serial(), kSoaRefresh, kSoaRetry, kSoaExpire, ttl}) w.u32(v);
}

// The answer records; returns how many.
std::uint16_t write_answers(ReplyWriter& w, const Zone& zone, const Zone::Node& node, std::uint16_t qtype,
                            std::uint32_t rotation, std::vector<std::pair<std::size_t, Ipv4>>& glue) {
  const std::uint32_t ttl = zone.options().ttl;
  const bool any = qtype == type::kAny;
  if (node.apex && (qtype == type::kSoa || any)) {
    soa_record(w, zone, 12);
    return 1;
  }
  if (node.apex && qtype == type::kNs) {
    record_head(w, 12, type::kNs, ttl, 5);
    glue.emplace_back(w.size(), zone.options().server_ip);
    w.bytes("\2ns", 3);
    w.pointer(12);
    return 1;
  }
  if ((qtype == type::kA || any) && !node.a.empty()) {
    const std::size_t n = node.a.size();
    for (std::size_t i = 0; i < n; ++i) a_record(w, 12, ttl, node.a[(rotation + i) % n]);
    return static_cast<std::uint16_t>(n);
  }
  if ((qtype == type::kSrv || any) && !node.srv.empty()) {
    for (const auto& s : node.srv) {
      record_head(w, 12, type::kSrv, ttl, static_cast<std::uint16_t>(6 + s.target.size()));
      w.u16(0);   // priority
      w.u16(10);  // weight
      w.u16(s.port);
      if (s.glue) glue.emplace_back(w.size(), s.ip);
      w.bytes(s.target.data(), s.target.size());
    }
    return static_cast<std::uint16_t>(node.srv.size());
  }
  return 0;
}

void write_truncated(ReplyWriter& w, const QueryHead& h, std::span<const std::uint8_t> query, bool ra) {
  w.truncate(0);
  begin(w, h, query, true, reply_flags(h, true, /*tc=*/true, ra, rcode::kNoError));
  finish(w, h, {}, rcode::kNoError);
}

Reply answer_from_zone(const Zone& zone, const QueryHead& h, std::span<const std::uint8_t> query,
                       const RespondOptions& options, std::vector<std::uint8_t>& out) {
  const bool ra = options.may_forward;
  const std::size_t limit = options.tcp ? 65535 : udp_reply_limit(h, options.max_udp);
  const std::size_t opt = h.edns ? kOptSize : 0;
  const Zone::Node* node = zone.find(h.lower_name());
  const std::uint16_t rcode = node ? rcode::kNoError : rcode::kNxDomain;
  ReplyWriter w(out);
  begin(w, h, query, true, reply_flags(h, true, false, ra, rcode));
  Counts c;
  std::vector<std::pair<std::size_t, Ipv4>> glue;  // additional A records: (name offset, address)
  if (node) c.an = write_answers(w, zone, *node, h.qtype, options.rotation, glue);
  if (c.an == 0) {
    // NODATA or NXDOMAIN: the SOA tells resolvers how long to cache the negative answer.
    soa_record(w, zone, 12 + (h.qname_size - 1 - zone.domain_wire().size()));
    c.ns = 1;
  }
  if (w.size() + opt > limit) {
    write_truncated(w, h, query, ra);
    return {Outcome::kAnswered, rcode::kNoError, true};
  }
  for (const auto& [offset, ip] : glue) {
    if (offset > kMaxPointer || w.size() + 16 + opt > limit) break;  // glue is optional: no TC
    a_record(w, offset, zone.options().ttl, ip);
    ++c.ar;
  }
  finish(w, h, c, rcode);
  return {Outcome::kAnswered, rcode, false};
}

}  // namespace

std::size_t udp_reply_limit(const QueryHead& head, std::size_t cap) {
  if (!head.edns) return 512;
  return std::clamp<std::size_t>(head.udp_size, 512, std::max<std::size_t>(cap, 512));
}

void write_rcode_reply(const QueryHead& head, std::span<const std::uint8_t> query, std::uint16_t rcode,
                       bool with_question, bool recursion_available, std::vector<std::uint8_t>& out) {
  ReplyWriter w(out);
  QueryHead h = head;
  h.edns = with_question && head.edns;  // a malformed query's OPT is not to be trusted
  begin(w, h, query, with_question, reply_flags(h, false, false, recursion_available, rcode));
  finish(w, h, {}, rcode);
}

Reply respond(const Zone& zone, std::span<const std::uint8_t> query, const RespondOptions& options,
              std::vector<std::uint8_t>& out) {
  QueryHead h;
  const bool ra = options.may_forward;
  switch (parse_query_head(query, h)) {
    case QueryStatus::kDrop:
      return {Outcome::kDrop};
    case QueryStatus::kFormErr:
      write_rcode_reply(h, query, rcode::kFormErr, false, ra, out);
      return {Outcome::kAnswered, rcode::kFormErr};
    case QueryStatus::kNotImp:
      write_rcode_reply(h, query, rcode::kNotImp, false, ra, out);
      return {Outcome::kAnswered, rcode::kNotImp};
    case QueryStatus::kOk:
      break;
  }
  auto refuse = [&](std::uint16_t rc) {
    write_rcode_reply(h, query, rc, true, ra, out);
    return Reply{Outcome::kAnswered, rc};
  };
  if (h.edns && h.edns_version != 0) return refuse(rcode::kBadVers);  // RFC 6891 §6.1.3
  if (h.qtype == type::kAxfr || h.qtype == type::kIxfr) return refuse(rcode::kRefused);
  if (!zone.contains(h.lower_name())) {
    if (options.may_forward) return {Outcome::kForward};
    return refuse(rcode::kRefused);  // not an open resolver
  }
  if (h.qclass != kClassIn && h.qclass != kClassAny) return refuse(rcode::kRefused);
  return answer_from_zone(zone, h, query, options, out);
}

}  // namespace prisn::dns
