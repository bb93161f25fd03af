// SPDX-License-Identifier: MIT
#include "prisn/proxy/balancer.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <charconv>
#include <functional>

namespace prisn::proxy {
namespace {

constexpr std::size_t kMaxSticky = 100'000;  // sessions remembered per target

// The first candidate at or after `start` (cyclically) that is not excluded.
std::optional<std::size_t> first_from(std::size_t start, std::size_t n, const std::vector<bool>& excluded) {
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (start + k) % n;
    if (i >= excluded.size() || !excluded[i]) return i;
  }
  return std::nullopt;
}

bool usable(std::size_t i, const std::vector<bool>& excluded) { return i >= excluded.size() || !excluded[i]; }

long long millis_since_epoch(Balancer::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

BalanceOptions balance_options(const std::string& algorithm, bool affinity_enabled, const std::string& affinity_type,
                               const std::string& header, std::chrono::milliseconds ttl) {
  BalanceOptions o;
  if (algorithm == "least-connections") o.algorithm = Algorithm::kLeastConnections;
  else if (algorithm == "random") o.algorithm = Algorithm::kRandom;
  else if (algorithm == "ip-hash") o.algorithm = Algorithm::kIpHash;
  if (affinity_enabled) {
    if (affinity_type == "ip-hash") o.affinity = Affinity::kIpHash;
    else if (affinity_type == "header") o.affinity = Affinity::kHeader;
    else o.affinity = Affinity::kCookie;
  }
  o.header = header;
  o.ttl = std::max(std::chrono::seconds(1), std::chrono::duration_cast<std::chrono::seconds>(ttl));
  return o;
}

// The first 16 bytes of HMAC-SHA256(key, text), in hex: 128 bits cannot be guessed.
std::string Balancer::mac(std::string_view text) const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), options_.cookie_key.data(), static_cast<int>(options_.cookie_key.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest, &length);
  std::string out;
  out.reserve(32);
  for (unsigned int i = 0; i < 16 && i < length; ++i) fmt::format_to(std::back_inserter(out), "{:02x}", digest[i]);
  return out;
}

std::string Balancer::cookie_value(std::string_view name, Clock::time_point now) const {
  const auto signed_part = fmt::format("{}.{}", name, millis_since_epoch(now + options_.ttl));
  return fmt::format("{}.{}", signed_part, mac(signed_part));
}

std::optional<std::size_t> Balancer::peek(std::span<const Candidate> c) const {
  const std::size_t n = c.size();
  if (n == 0) return std::nullopt;
  const auto start = static_cast<std::size_t>(next_.load(std::memory_order_relaxed) % n);
  switch (options_.algorithm) {
    case Algorithm::kRoundRobin:
      return n == 1 ? 0 : start;
    case Algorithm::kLeastConnections: {
      std::size_t best = start;
      for (std::size_t k = 1; k < n; ++k) {
        const std::size_t i = (start + k) % n;
        if (c[i].active < c[best].active) best = i;
      }
      return best;
    }
    case Algorithm::kRandom:
    case Algorithm::kIpHash:
      break;
  }
  return std::nullopt;
}

std::optional<std::size_t> Balancer::by_algorithm(std::span<const Candidate> c, const Request& r,
                                                  const std::vector<bool>& excluded, std::uint64_t random) {
  const std::size_t n = c.size();
  switch (options_.algorithm) {
    case Algorithm::kRoundRobin:
      return first_from(n == 1 ? 0 : static_cast<std::size_t>(next_.fetch_add(1, std::memory_order_relaxed) % n), n,
                        excluded);
    case Algorithm::kRandom:
      return first_from(static_cast<std::size_t>(random % n), n, excluded);
    case Algorithm::kIpHash:
      return first_from(std::hash<std::string_view>{}(r.client_ip) % n, n, excluded);
    case Algorithm::kLeastConnections: {
      // Ties go round-robin, so equally idle instances share the load.
      const std::size_t start = static_cast<std::size_t>(next_.fetch_add(1, std::memory_order_relaxed) % n);
      std::optional<std::size_t> best;
      for (std::size_t k = 0; k < n; ++k) {
        const std::size_t i = (start + k) % n;
        if (usable(i, excluded) && (!best || c[i].active < c[*best].active)) best = i;
      }
      return best;
    }
  }
  return std::nullopt;
}

std::optional<std::size_t> Balancer::sticky(std::span<const Candidate> c, const std::string& key,
                                            const std::vector<bool>& excluded, Clock::time_point now) {
  auto it = table_.find(key);
  if (it == table_.end() || it->second.expires <= now) return std::nullopt;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (c[i].name == it->second.name && usable(i, excluded)) return i;
  }
  return std::nullopt;  // that instance is gone or unhealthy: choose again
}

void Balancer::remember(const std::string& key, std::string_view name, Clock::time_point now) {
  if (table_.size() >= kMaxSticky) {
    std::erase_if(table_, [now](const auto& kv) { return kv.second.expires <= now; });
    if (table_.size() >= kMaxSticky) table_.clear();  // a flood of keys: start over rather than grow
  }
  table_[key] = Sticky{std::string(name), now + options_.ttl};
}

std::optional<Balancer::Choice> Balancer::by_cookie(std::span<const Candidate> c, const Request& r,
                                                    const std::vector<bool>& excluded, Clock::time_point now,
                                                    std::uint64_t random) {
  // NAME.EXPIRY.MAC (EXPIRY in Unix ms): honoured while EXPIRY is ahead and MAC is ours,
  // whatever Max-Age the client kept it for.
  const auto mac_dot = r.cookie.rfind('.');
  const auto expiry_dot = mac_dot == std::string_view::npos ? mac_dot : r.cookie.rfind('.', mac_dot - 1);
  if (expiry_dot != std::string_view::npos && expiry_dot > 0) {
    const auto signed_part = r.cookie.substr(0, mac_dot);
    const auto sent_mac = r.cookie.substr(mac_dot + 1);
    const auto digits = r.cookie.substr(expiry_dot + 1, mac_dot - expiry_dot - 1);
    long long expires = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), expires);
    // Compared before subtracting: a client's EXPIRY may be any 64-bit number.
    const long long now_ms = millis_since_epoch(now);
    const long long left = expires > now_ms ? expires - now_ms : 0;  // ms
    const auto ours = mac(signed_part);
    if (left > 0 && sent_mac.size() == ours.size() && CRYPTO_memcmp(sent_mac.data(), ours.data(), ours.size()) == 0) {
      const auto name = r.cookie.substr(0, expiry_dot);
      // Sliding: past half its TTL, the session is renewed with a fresh cookie.
      const bool renew = left < std::chrono::milliseconds(options_.ttl).count() - left;
      for (std::size_t i = 0; i < c.size(); ++i) {
        if (c[i].name == name && usable(i, excluded)) return Choice{i, renew};
      }
    }
  }
  auto i = by_algorithm(c, r, excluded, random);
  if (!i) return std::nullopt;
  return Choice{*i, true};
}

std::optional<Balancer::Choice> Balancer::choose(std::span<const Candidate> c, const Request& r,
                                                 const std::vector<bool>& excluded, Clock::time_point now,
                                                 std::uint64_t random) {
  if (c.empty()) return std::nullopt;
  switch (options_.affinity) {
    case Affinity::kNone:
      break;
    case Affinity::kCookie:
      return by_cookie(c, r, excluded, now, random);
    case Affinity::kIpHash:
    case Affinity::kHeader: {
      const std::string key(options_.affinity == Affinity::kIpHash ? r.client_ip : r.header);
      if (key.empty()) break;  // no header: no session to keep
      std::lock_guard lock(mutex_);
      auto i = sticky(c, key, excluded, now);
      if (!i) i = by_algorithm(c, r, excluded, random);
      if (!i) return std::nullopt;
      remember(key, c[*i].name, now);  // sliding: each request extends the session
      return Choice{*i, false};
    }
  }
  auto i = by_algorithm(c, r, excluded, random);
  if (!i) return std::nullopt;
  return Choice{*i, false};
}

}  // namespace prisn::proxy
