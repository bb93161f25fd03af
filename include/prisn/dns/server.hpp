// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "prisn/core/error.hpp"
#include "prisn/dns/zone.hpp"

namespace boost::asio {
class io_context;
}

namespace prisn::dns {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 53;  ///< 0 = a port free for both UDP and TCP
  /// Where names outside the zone go: "host" or "host:port" (port 53 by default).
  std::vector<std::string> upstreams;
  /// A forwarded query that no upstream answered within this gets SERVFAIL (SPEC: within 2 s).
  std::chrono::milliseconds upstream_timeout{1800};
  std::size_t cache_entries = 2048;
  /// Forwarded queries waiting for an upstream at once; beyond this a query gets SERVFAIL
  /// at once, so a flood cannot take memory or exhaust the 16-bit query ids.
  std::size_t max_forwards_in_flight = 512;
  std::size_t max_tcp_connections = 256;
  std::chrono::milliseconds tcp_idle_timeout{10'000};
};

/// Counters for /metrics: relaxed atomics written by the DNS thread.
struct ServerStats {
  static constexpr std::size_t kRcodes = 17;  ///< 0..15 and BADVERS (16)
  std::array<std::atomic<std::uint64_t>, kRcodes> replies{};  ///< by rcode
  std::atomic<std::uint64_t> forwarded{0};    ///< sent upstream
  std::atomic<std::uint64_t> cache_hits{0};
  std::atomic<std::uint64_t> upstream_failures{0};  ///< SERVFAIL because no upstream answered
  std::atomic<std::uint64_t> forwards_refused{0};   ///< SERVFAIL because too many were in flight
  std::atomic<std::uint64_t> truncated{0};    ///< UDP replies with TC set
  std::atomic<std::uint64_t> dropped{0};      ///< datagrams not answered (too short, responses)
};

/// prisn DNS (SPEC §7.2): UDP and TCP on one port, authoritative for the zone it was last
/// handed, forwarding every other name to the upstreams for clients on loopback or on the
/// node's own networks, with query-id rewriting, a TTL-respecting cache and SERVFAIL when
/// upstreams stay silent. UDP is batched with recvmmsg/sendmmsg.
///
/// Thread: construct, start() and stop() on the control thread; sockets run on the
/// io_context given (the data plane); publish() may be called from any thread.
class Server {
 public:
  Server(boost::asio::io_context& io, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds UDP and TCP and starts serving. Returns the bound "HOST:PORT".
  Result<std::string> start();
  void stop();
  /// Swaps the zone the query path reads; queries in flight finish with the old one.
  void publish(std::shared_ptr<const Zone> zone);

  const ServerStats& stats() const;
  /// The upstreams in use, as "host:port".
  std::vector<std::string> upstreams() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

/// The nameservers of a resolv.conf text as upstreams, leaving out prisn's own address
/// (`self`, "host:port") so prisn never forwards to itself.
std::vector<std::string> upstreams_from_resolv_conf(const std::string& text, const std::string& self);

}  // namespace prisn::dns
