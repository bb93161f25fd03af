// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "prisn/core/error.hpp"
#include "prisn/proxy/l7_snapshot.hpp"

namespace prisn::proxy {

class TlsStore;

struct HttpRouterOptions {
  std::size_t workers = 2;                         ///< threads, each with its own io_context and listener
  std::chrono::seconds header_timeout{10};         ///< for a request's header to arrive
  std::chrono::seconds idle_timeout{60};           ///< a keep-alive connection between requests; body I/O
  std::chrono::seconds connect_timeout{3};         ///< to an instance
  std::chrono::seconds upstream_timeout{60};       ///< for an instance's response header
  std::size_t header_limit = 64 * 1024;            ///< request header bytes (431 beyond)
  std::size_t idle_upstreams_per_instance = 64;    ///< kept-alive connections per instance and worker
};

/// The L7 router (SPEC §7.5): HTTP/1.1 with keep-alive on both sides (a pool of upstream
/// connections per instance and worker), bodies streamed both ways in 16 KiB pieces (never a
/// whole body in memory), chunked encoding, `Expect: 100-continue` answered by the router,
/// `Upgrade` (WebSocket) tunnelled, hop-by-hop headers stripped, X-Forwarded-For/-Proto/-Host
/// added; routes by host and path, instances chosen by the target's balancer; a refused
/// connect is retried on another instance, and a request that failed on a kept-alive
/// connection before any answer is retried when its method is idempotent and it has no body.
/// 404 without a route, 503 without a healthy instance, 502 when the instance fails.
/// HTTP/2 clients (ALPN h2 on TLS, prior knowledge on plain TCP) are served the same way,
/// each stream relayed to an instance over HTTP/1.1.
///
/// Thread: listen(), start(), publish() and stop() on the control thread, every listen()
/// before start(); each worker runs its own io_context thread with one SO_REUSEPORT listener
/// per address and reads the snapshot it was last handed. New plain HTTP connections gather
/// on the first worker until it is busy (connection_steering.hpp).
class HttpRouter {
 public:
  explicit HttpRouter(HttpRouterOptions options);
  ~HttpRouter();
  HttpRouter(const HttpRouter&) = delete;
  HttpRouter& operator=(const HttpRouter&) = delete;

  /// Binds HOST:PORT on every worker (port 0: one free port for all). With `tls`, the
  /// listener terminates TLS with certificates chosen by SNI. Returns the bound address.
  Result<std::string> listen(const std::string& host, std::uint16_t port, std::shared_ptr<TlsStore> tls = nullptr);
  /// Starts the worker threads.
  void start();
  void publish(std::shared_ptr<const L7Snapshot> snapshot);
  /// Stops accepting, ends idle connections, lets requests in flight finish for up to
  /// `grace`, then stops the workers.
  void stop(std::chrono::milliseconds grace);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace prisn::proxy
