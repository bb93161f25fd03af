// SPDX-License-Identifier: MIT
#include "prisn/proxy/balancer.hpp"

#include <fmt/format.h>

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

std::string Balancer::cookie_value(std::string_view name, Clock::time_point now) const {
  const auto expires = std::chrono::duration_cast<std::chrono::seconds>((now + options_.ttl).time_since_epoch());
  return fmt::format("{}.{}", name, expires.count());
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

std::optional<Balancer::Choice> Balancer::choose(std::span<const Candidate> c, const Request& r,
                                                 const std::vector<bool>& excluded, Clock::time_point now,
                                                 std::uint64_t random) {
  if (c.empty()) return std::nullopt;
  switch (options_.affinity) {
    case Affinity::kNone:
      break;
    case Affinity::kCookie: {
      // NAME.EXPIRY: honoured until EXPIRY even if the client keeps it longer.
      const auto dot = r.cookie.rfind('.');
      long long expires = 0;
      if (dot != std::string_view::npos) {
        const auto digits = r.cookie.substr(dot + 1);
        std::from_chars(digits.data(), digits.data() + digits.size(), expires);
      }
      const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
      if (expires > now_s) {
        const auto name = r.cookie.substr(0, dot);
        for (std::size_t i = 0; i < c.size(); ++i) {
          if (c[i].name == name && usable(i, excluded)) return Choice{i, false};
        }
      }
      auto i = by_algorithm(c, r, excluded, random);
      if (!i) return std::nullopt;
      return Choice{*i, true};
    }
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
