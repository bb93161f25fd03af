// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "prisn/proxy/balancer.hpp"
#include "prisn/proxy/latency_histogram.hpp"
#include "prisn/proxy/route_table.hpp"

namespace prisn::proxy {

/// Counters of one route target, relaxed atomics: the router's workers write, /metrics and
/// `prisn proxy stats` read. Owned by the control plane and carried from snapshot to
/// snapshot, so a reload never resets them.
struct RouteStats {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::int64_t> active{0};
  std::array<std::atomic<std::uint64_t>, 600> by_code{};  ///< index = status code
  LatencyHistogram latency;                                ///< request header to end of answer

  void record(int status, double seconds);
  std::uint64_t errors() const;  ///< 5xx answers
};

/// One healthy instance a target may send to.
struct L7Backend {
  std::string instance;  ///< "api-1": what affinity remembers
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::shared_ptr<std::atomic<int>> active;  ///< requests and connections in flight (drain waits on it)
  std::string address;                       ///< "host:port": kept-alive connections are pooled by it
};

/// The network policies on a target (bridge mode, SPEC §7.6) as the router applies them: a
/// request from another instance (an address of the instances' subnet other than its gateway,
/// the node) is refused unless its address is one the policies allow on the target's port.
/// Requests from elsewhere (the node, other machines) are not affected, as with the kernel's
/// filter of the instances' traffic.
struct SourcePolicy {
  std::uint32_t subnet = 0;  ///< host byte order, as the rest
  std::uint32_t mask = 0;
  std::uint32_t gateway = 0;
  std::vector<std::uint32_t> allowed;  ///< sorted

  /// Whether a request from `client_ip` (dotted quad, or IPv4-mapped IPv6) may pass.
  bool admits(std::string_view client_ip) const;
};

/// Where a route sends requests: one port of one deployment.
struct L7Target {
  std::string ns;
  std::string deployment;
  std::string label;    ///< "api.default", as `prisn proxy stats` shows it
  std::string problem;  ///< why there is no instance at all, for the 503 ("no deployment default/x")
  std::vector<L7Backend> backends;  ///< healthy instances, in rotation
  std::shared_ptr<Balancer> balancer;
  std::shared_ptr<RouteStats> stats;
  std::shared_ptr<const SourcePolicy> policy;  ///< null: open to every client
};

/// What the L7 router reads, immutable once published: the routes, and the ACME HTTP-01
/// answers it serves under /.well-known/acme-challenge/.
struct L7Snapshot {
  RouteTable<std::shared_ptr<const L7Target>> routes;
  /// The router's own answers to requests no route took (404, 400 for a bad Host), counted
  /// as route "none"; carried from snapshot to snapshot as the targets' stats are.
  std::shared_ptr<RouteStats> unrouted;
  std::map<std::string, std::string> acme_challenges;  ///< token → key authorization
};

}  // namespace prisn::proxy
