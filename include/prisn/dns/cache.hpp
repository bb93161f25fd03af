// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "prisn/dns/message.hpp"

namespace prisn::dns {

/// Gives a negative answer's (NXDOMAIN or NODATA) SOA record the negative TTL, min(its TTL,
/// its MINIMUM) (RFC 2308 §5), so a cache downstream keeps the answer no longer than prisn does.
void cap_negative_ttl(Message& m);

/// Upstream answers by question, kept for their TTL (SPEC §7.2 "a small cache"). Positive
/// answers live for their smallest record TTL, NXDOMAIN and NODATA for the SOA's negative
/// TTL (RFC 2308); both capped at `max_ttl`. A hit comes back with its TTLs reduced by the
/// time it spent here. When full, expired entries go first, then the soonest to expire.
/// Sans-IO: time is passed in. Thread: the DNS server's.
class ResponseCache {
 public:
  using Clock = std::chrono::steady_clock;

  explicit ResponseCache(std::size_t max_entries, std::chrono::seconds max_ttl = std::chrono::seconds(3600))
      : max_entries_(max_entries), max_ttl_(max_ttl) {}

  /// Keeps `response` (a reply to its one question) unless it is truncated, an error other
  /// than NXDOMAIN, or has a TTL of 0.
  void store(const Message& response, bool dnssec_ok, Clock::time_point now);
  std::optional<Message> lookup(const Question& question, bool dnssec_ok, Clock::time_point now);

  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Message response;
    Clock::time_point stored;
    Clock::time_point expires;
  };
  static std::string key(const Question& q, bool dnssec_ok);
  void make_room(Clock::time_point now);

  std::size_t max_entries_;
  std::chrono::seconds max_ttl_;
  std::map<std::string, Entry> entries_;
};

}  // namespace prisn::dns
