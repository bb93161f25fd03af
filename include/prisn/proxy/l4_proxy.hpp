// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "prisn/core/error.hpp"
#include "prisn/proxy/latency_histogram.hpp"

namespace prisn::proxy {

/// Where a published port's connections may go: healthy instances only.
struct Backend {
  std::string instance;  ///< instance id, for logs
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::shared_ptr<std::atomic<int>> connections;  ///< open connections; read by the drain
};

/// Immutable once published: listener name → its backends.
struct L4Snapshot {
  std::map<std::string, std::vector<Backend>> routes;
};

/// Counters per listener, relaxed atomics: the data plane writes, /metrics reads.
struct ListenerStats {
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> failed{0};  ///< no backend could be reached
  std::atomic<std::int64_t> active{0};
  LatencyHistogram connect;  ///< accept to the chosen instance's connect, retries included
};

/// The L4 proxy (SPEC §7.4): for each published port, accept, pick a healthy backend
/// round-robin, retry the next one when a connect fails, splice bytes both ways and close
/// both sides cleanly.
///
/// Thread: open()/close()/publish() on the control thread. The proxy runs its own worker
/// threads, each with its own io_context and an SO_REUSEPORT acceptor per listener (the
/// kernel spreads connections across them); each reads the snapshot it was last handed,
/// lock-free.
class L4Proxy {
 public:
  /// Starts `workers` threads (at least one); the destructor stops them, ending the
  /// connections still open.
  explicit L4Proxy(std::size_t workers);
  ~L4Proxy();

  /// Binds `host:port` now (so a conflict is reported to the caller) and starts accepting
  /// for listener `name`. Port 0 picks a free port; the bound port is returned. Host "::"
  /// is every address of the node, IPv4 and IPv6 (0.0.0.0 on a node without IPv6). A port
  /// anything else listens on already (prisnd's own routers, another process) is a
  /// conflict, even where SO_REUSEPORT would let the two share it.
  Result<std::uint16_t> open(const std::string& name, const std::string& host, std::uint16_t port);
  /// Whether open() could listen on `host:port` now: an error naming the address and why
  /// not (a conflict while something listens there).
  Result<void> available(const std::string& host, std::uint16_t port) const;
  /// Stops accepting on listener `name`; returns once its port is free again.
  void close(const std::string& name);
  bool is_open(const std::string& name) const;
  /// The bound address of a listener ("0.0.0.0:8080", "[::]:30080"), or empty.
  std::string address(const std::string& name) const;

  void publish(std::shared_ptr<const L4Snapshot> snapshot);

  /// The listener's round-robin position: its next connection goes to backend
  /// `next_position % backends` of the last snapshot (0 for an unknown listener).
  std::uint64_t next_position(const std::string& name) const;
  /// Client connections open now, on every listener (closed listeners' included).
  std::int64_t open_connections() const;
  /// Stats by listener name, of the listeners open now.
  std::map<std::string, std::shared_ptr<ListenerStats>> stats() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace prisn::proxy
