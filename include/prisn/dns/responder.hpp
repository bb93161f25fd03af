// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "prisn/dns/query.hpp"
#include "prisn/dns/zone.hpp"

namespace prisn::dns {

struct RespondOptions {
  bool tcp = false;             ///< no size limit but 65535, no TC
  bool may_forward = false;     ///< the client may use prisn as its resolver (SPEC §7.2)
  std::uint32_t rotation = 0;   ///< rotates the order of A answers; the server counts queries
  std::uint16_t max_udp = 4096; ///< cap on the client's advertised EDNS size
};

enum class Outcome {
  kAnswered,  ///< `out` holds the reply
  kForward,   ///< a name outside the zone and the client may forward: send the query upstream
  kDrop,      ///< not a query (too short, or a response): say nothing
};

struct Reply {
  Outcome outcome = Outcome::kDrop;
  std::uint16_t rcode = 0;
  bool truncated = false;
};

/// Answers one query from `zone` (SPEC §7.2) into `out`: A/SRV/SOA/NS from the zone, NODATA
/// or NXDOMAIN with the SOA, the question's case echoed, EDNS0 size honoured with TC when the
/// answer does not fit, FORMERR for malformed queries, NOTIMP for other opcodes, BADVERS for
/// EDNS versions above 0, REFUSED for zone transfers, other classes, and names outside the
/// zone when the client may not forward. Sans-IO: the server calls it per datagram.
Reply respond(const Zone& zone, std::span<const std::uint8_t> query, const RespondOptions& options,
              std::vector<std::uint8_t>& out);

/// A reply carrying only `rcode` (and the question when `head` has one), for answers the
/// zone does not give: SERVFAIL when upstreams are silent, REFUSED, FORMERR.
void write_rcode_reply(const QueryHead& head, std::span<const std::uint8_t> query, std::uint16_t rcode,
                       bool with_question, bool recursion_available, std::vector<std::uint8_t>& out);

/// The largest UDP reply for this query: its EDNS size within [512, cap], else 512.
std::size_t udp_reply_limit(const QueryHead& head, std::size_t cap);

}  // namespace prisn::dns
