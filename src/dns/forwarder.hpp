// SPDX-License-Identifier: MIT
// Forwarding of names outside the zone to the upstream resolvers (private to prisn_dns).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <unordered_set>
#include <vector>

#include "prisn/dns/cache.hpp"
#include "prisn/dns/server.hpp"

namespace prisn::dns::detail {

/// Sends each query upstream from a socket of its own (a random source port, connected to the
/// upstream) with a fresh random id, takes only an answer with that id and the same question
/// (so a stray or forged datagram is ignored: RFC 5452), tries the next upstream when one is
/// silent for its share of the time or answers SERVFAIL, NOTIMP or REFUSED (an earlier try
/// still counts if its answer comes later, within the deadline), falls back to TCP when an
/// answer for a TCP client comes back truncated, caches what may be cached, and always
/// produces a reply: SERVFAIL once the deadline has passed.
/// Thread: the DNS thread.
class Forwarder {
 public:
  Forwarder(boost::asio::any_io_executor executor, std::vector<boost::asio::ip::udp::endpoint> upstreams,
            std::chrono::milliseconds timeout, std::size_t cache_entries, std::size_t max_in_flight,
            ServerStats& stats);

  /// Ends every query waiting upstream (each gets SERVFAIL) and forwards no more.
  void stop();
  const std::vector<boost::asio::ip::udp::endpoint>& upstreams() const { return upstreams_; }
  /// Removes the upstreams `drop` says to, before the first query; returns them.
  std::vector<boost::asio::ip::udp::endpoint> drop_upstreams(
      const std::function<bool(const boost::asio::ip::udp::endpoint&)>& drop);

  /// The reply to `query` (already checked by parse_query_head), at most `reply_limit` bytes.
  boost::asio::awaitable<std::vector<std::uint8_t>> resolve(std::vector<std::uint8_t> query, std::size_t reply_limit,
                                                            bool tcp_client);

 private:
  struct Tries;
  struct Try;
  enum class Heard { kNothing, kAnswer, kFailed };
  /// Sends `query` to upstream `index` from a socket of its own and starts listening there.
  bool send_try(const std::shared_ptr<Tries>& tries, std::size_t index, std::vector<std::uint8_t> query);
  /// What has arrived on one try's socket, without waiting; an answer goes to `answer`.
  Heard read_try(Try& t, std::span<const std::uint8_t> query, std::vector<std::uint8_t>& answer);
  boost::asio::awaitable<bool> ask_tcp(boost::asio::ip::udp::endpoint upstream, std::vector<std::uint8_t> query,
                                       std::chrono::steady_clock::time_point until, std::vector<std::uint8_t>& answer);
  /// Gives `query` a random id of prisn's own and returns it: the client's would tell whoever
  /// sees the upstream's traffic which query to forge an answer for.
  std::uint16_t stamp_fresh_id(std::vector<std::uint8_t>& query);
  /// The upstreams' indexes in the order to ask them now: round-robin, those quiet lately last.
  std::vector<std::size_t> upstream_order(std::chrono::steady_clock::time_point now);

  boost::asio::any_io_executor executor_;
  std::vector<boost::asio::ip::udp::endpoint> upstreams_;
  std::chrono::milliseconds timeout_;
  ServerStats& stats_;
  ResponseCache cache_;
  std::unordered_set<boost::asio::steady_timer*> waiting_;  ///< each query's deadline, for stop()
  bool stopped_ = false;
  std::mt19937 random_;
  std::size_t next_upstream_ = 0;
  std::size_t max_in_flight_;
  std::size_t in_flight_ = 0;
  /// Per upstream: until when it is asked last, having not answered in its share of time.
  std::vector<std::chrono::steady_clock::time_point> quiet_until_;
  static constexpr std::chrono::seconds kQuietFor{30};
};

}  // namespace prisn::dns::detail
