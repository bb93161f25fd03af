// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace prisn::proxy {

enum class Algorithm { kRoundRobin, kLeastConnections, kRandom, kIpHash };
enum class Affinity { kNone, kCookie, kIpHash, kHeader };

struct BalanceOptions {
  Algorithm algorithm = Algorithm::kRoundRobin;
  Affinity affinity = Affinity::kNone;
  std::string header;  ///< for Affinity::kHeader: the request header that keys the session
  std::chrono::seconds ttl{3600};
  std::string cookie_key;  ///< HMAC-SHA256 key that signs the affinity cookie
};

/// "round-robin" ... into options; unknown names fall back to round-robin.
BalanceOptions balance_options(const std::string& algorithm, bool affinity_enabled, const std::string& affinity_type,
                               const std::string& header, std::chrono::milliseconds ttl);

/// Chooses an instance for each request (SPEC §7.5): round-robin, least-connections, random
/// or ip-hash over the healthy instances, with session affinity by cookie, by client IP or by
/// a header. Each affinity keeps a session `ttl` after its last use. The cookie,
/// `prisn_affinity=NAME.EXPIRY.MAC` (EXPIRY in Unix ms), carries the session itself: MAC signs
/// NAME.EXPIRY, so a client can neither forge a session nor stretch one, and prisn re-issues
/// it (a new EXPIRY) once half its TTL has passed. IP and header sessions live in a table of
/// who went where. Instances a request already failed to reach are skipped, so a retry goes
/// elsewhere.
/// Sans-IO: time and randomness are passed in. Thread-safe: the router's workers share one.
class Balancer {
 public:
  using Clock = std::chrono::system_clock;
  static constexpr const char* kCookie = "prisn_affinity";

  explicit Balancer(BalanceOptions options) : options_(std::move(options)) {}

  struct Candidate {
    std::string_view name;  ///< instance name ("api-1"): what affinity remembers
    int active = 0;         ///< requests in flight, for least-connections
  };
  struct Request {
    std::string_view client_ip;
    std::string_view cookie;  ///< the prisn_affinity cookie's value, if sent
    std::string_view header;  ///< the affinity header's value, if sent
  };
  struct Choice {
    std::size_t index = 0;
    bool set_cookie = false;  ///< the response should carry a new (or renewed) affinity cookie
  };

  /// One of `candidates` whose `excluded` flag is false, or nullopt when none is left.
  std::optional<Choice> choose(std::span<const Candidate> candidates, const Request& request,
                               const std::vector<bool>& excluded, Clock::time_point now, std::uint64_t random);
  /// Which of `candidates` choose() would give a request without affinity next, without
  /// moving the round-robin position; nullopt where that depends on the request (random,
  /// ip-hash). For `prisn proxy trace`.
  std::optional<std::size_t> peek(std::span<const Candidate> candidates) const;
  /// The affinity cookie's value for `name`, valid for the TTL from `now`, signed.
  std::string cookie_value(std::string_view name, Clock::time_point now) const;
  const BalanceOptions& options() const { return options_; }

 private:
  std::optional<std::size_t> by_algorithm(std::span<const Candidate> candidates, const Request& request,
                                          const std::vector<bool>& excluded, std::uint64_t random);
  std::optional<std::size_t> sticky(std::span<const Candidate> candidates, const std::string& key,
                                    const std::vector<bool>& excluded, Clock::time_point now);
  void remember(const std::string& key, std::string_view name, Clock::time_point now);
  std::optional<Choice> by_cookie(std::span<const Candidate> candidates, const Request& request,
                                  const std::vector<bool>& excluded, Clock::time_point now, std::uint64_t random);
  std::string mac(std::string_view name_and_expiry) const;

  BalanceOptions options_;
  std::atomic<std::uint64_t> next_{0};  // round-robin position, shared by the router's workers
  std::mutex mutex_;                     // guards everything below
  struct Sticky {
    std::string name;
    Clock::time_point expires;
  };
  std::unordered_map<std::string, Sticky> table_;
};

}  // namespace prisn::proxy
