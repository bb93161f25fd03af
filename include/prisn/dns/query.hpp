// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "prisn/dns/name.hpp"

namespace prisn::dns {

/// What the authoritative path needs from a query, read without allocating: the header, the
/// one question (its name lowercased for lookups) and the OPT record. Queries are the hot
/// path of the server; anything else goes through parse().
struct QueryHead {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;      ///< the header's flag word as sent
  std::size_t qname_size = 0;   ///< wire bytes of the question name, terminating zero included
  std::uint16_t qtype = 0;
  std::uint16_t qclass = 0;
  std::array<char, kMaxNameWire> lower{};  ///< the question name in lowercase wire form
  bool edns = false;
  std::uint16_t udp_size = 512;
  std::uint8_t edns_version = 0;
  bool dnssec_ok = false;

  std::uint8_t opcode() const { return static_cast<std::uint8_t>((flags >> 11) & 0xF); }
  bool rd() const { return (flags & 0x0100) != 0; }
  bool cd() const { return (flags & 0x0010) != 0; }
  /// The lowercase name without its terminating zero: the zone's key form.
  std::string_view lower_name() const { return {lower.data(), qname_size - 1}; }
  /// Offset just past the question (header, name, type, class).
  std::size_t question_end() const { return 12 + qname_size + 4; }
};

enum class QueryStatus {
  kOk,       ///< one question, optionally one OPT record, nothing else
  kDrop,     ///< shorter than a header, or a response: never answered
  kFormErr,  ///< malformed or an unsupported shape; `id` and `flags` are valid
  kNotImp,   ///< an opcode other than QUERY; `id` and `flags` are valid
};

/// Strict: the question name must be uncompressed, the only additional record may be OPT at
/// the root, and nothing may follow it.
QueryStatus parse_query_head(std::span<const std::uint8_t> wire, QueryHead& head);

}  // namespace prisn::dns
