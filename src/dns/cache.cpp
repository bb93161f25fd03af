// SPDX-License-Identifier: MIT
#include "prisn/dns/cache.hpp"

#include <algorithm>
#include <limits>

namespace prisn::dns {
namespace {

// The time the answer may be cached, in seconds; nullopt when it must not be.
std::optional<std::uint32_t> cacheable_ttl(const Message& m) {
  if (m.tc || m.questions.size() != 1 || (m.rcode != rcode::kNoError && m.rcode != rcode::kNxDomain)) {
    return std::nullopt;
  }
  std::uint32_t ttl = std::numeric_limits<std::uint32_t>::max();
  if (!m.answers.empty()) {
    for (const auto& rr : m.answers) ttl = std::min(ttl, rr.ttl);
    return ttl;
  }
  // Negative answer: min(SOA TTL, SOA MINIMUM); without an SOA it is not cached (RFC 2308 §5).
  for (const auto& rr : m.authority) {
    if (const auto* soa = std::get_if<SoaData>(&rr.data)) return std::min(rr.ttl, soa->minimum);
  }
  return std::nullopt;
}

void age(std::vector<Record>& records, std::uint32_t elapsed) {
  for (auto& rr : records) rr.ttl = rr.ttl > elapsed ? rr.ttl - elapsed : 0;
}

}  // namespace

void cap_negative_ttl(Message& m) {
  if (!m.answers.empty()) return;
  for (auto& rr : m.authority) {
    if (const auto* soa = std::get_if<SoaData>(&rr.data)) rr.ttl = std::min(rr.ttl, soa->minimum);
  }
}

std::string ResponseCache::key(const Question& q, bool dnssec_ok) {
  std::string k = q.name.lowered().wire();
  k.push_back('\0');
  k.push_back(static_cast<char>(q.type >> 8));
  k.push_back(static_cast<char>(q.type));
  k.push_back(static_cast<char>(q.klass >> 8));
  k.push_back(static_cast<char>(q.klass));
  k.push_back(dnssec_ok ? 'D' : '-');
  return k;
}

void ResponseCache::store(const Message& response, bool dnssec_ok, Clock::time_point now) {
  if (max_entries_ == 0) return;
  const auto ttl = cacheable_ttl(response);
  if (!ttl || *ttl == 0) return;
  const auto lifetime = std::min<std::chrono::seconds>(std::chrono::seconds(*ttl), max_ttl_);
  const std::string k = key(response.questions.front(), dnssec_ok);
  if (!entries_.contains(k)) make_room(now);
  entries_[k] = Entry{response, now, now + lifetime};
}

std::optional<Message> ResponseCache::lookup(const Question& question, bool dnssec_ok, Clock::time_point now) {
  auto it = entries_.find(key(question, dnssec_ok));
  if (it == entries_.end()) return std::nullopt;
  if (it->second.expires <= now) {
    entries_.erase(it);
    return std::nullopt;
  }
  Message m = it->second.response;
  const auto elapsed =
      static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(now - it->second.stored).count());
  age(m.answers, elapsed);
  age(m.authority, elapsed);
  age(m.additional, elapsed);
  return m;
}

void ResponseCache::make_room(Clock::time_point now) {
  if (entries_.size() < max_entries_) return;
  std::erase_if(entries_, [now](const auto& kv) { return kv.second.expires <= now; });
  if (entries_.size() < max_entries_) return;
  auto soonest = std::min_element(entries_.begin(), entries_.end(),
                                  [](const auto& a, const auto& b) { return a.second.expires < b.second.expires; });
  entries_.erase(soonest);
}

}  // namespace prisn::dns
