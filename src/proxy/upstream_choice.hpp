// SPDX-License-Identifier: MIT
// Choosing an instance for a request and getting a connection to it (private to
// prisn_proxy), for HTTP/1.1 and HTTP/2 sessions alike. A session type S has `w` (its
// Worker), `deadline`, `candidates`, `excluded` and `retryable`.
#pragma once

#include <atomic>
#include <boost/beast/http/verb.hpp>
#include <memory>
#include <optional>

#include "proxy/http_worker.hpp"

namespace prisn::proxy::detail {

namespace http = beast::http;

/// Methods whose request may be sent again after a failure (RFC 9110 §9.2.2).
inline bool idempotent(http::verb v) {
  return v == http::verb::get || v == http::verb::head || v == http::verb::options || v == http::verb::trace ||
         v == http::verb::put || v == http::verb::delete_;
}

/// A new connection to `b`, or nullptr.
template <class S>
Task<std::unique_ptr<Upstream>> connect(S& s, const L7Backend& b) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(b.host, ec);
  if (ec) co_return nullptr;
  auto conn = std::make_unique<Upstream>(s.w.io.get_executor());
  conn->key = b.address;
  s.deadline.upstream = &conn->socket;
  s.deadline.after(s.w.options.connect_timeout);
  auto [cec] = co_await conn->socket.async_connect(tcp::endpoint(address, b.port), kNoThrow);
  s.deadline.upstream = nullptr;
  if (cec) co_return nullptr;
  conn->socket.set_option(tcp::no_delay(true), ec);
  conn->socket.non_blocking(true, ec);  // for write_now()
  co_return conn;
}

// Counts a request in flight on a target and an instance, and records how it ended.
struct InFlight {
  RouteStats& stats;
  Clock::time_point started = Clock::now();
  std::shared_ptr<std::atomic<int>> backend;
  int status = 0;
  explicit InFlight(RouteStats& s) : stats(s) { stats.active.fetch_add(1, std::memory_order_relaxed); }
  /// Counts the request on instance `b` (and no longer on the one tried before); nullptr:
  /// on no instance, once the instance has answered.
  void on(const std::shared_ptr<std::atomic<int>>& b) {
    if (backend) backend->fetch_sub(1, std::memory_order_relaxed);
    backend = b;
    if (backend) backend->fetch_add(1, std::memory_order_relaxed);
  }
  ~InFlight() {
    stats.active.fetch_sub(1, std::memory_order_relaxed);
    if (backend) backend->fetch_sub(1, std::memory_order_relaxed);
    stats.record(status, std::chrono::duration<double>(Clock::now() - started).count());
  }
};

struct Picked {
  std::unique_ptr<Upstream> conn;
  std::size_t index = 0;
  bool set_cookie = false;
};

// The balancer's choice among the target's instances not in `s.excluded`.
/// The target's instances as the balancer sees them now: name and requests in flight.
template <class S>
void list_candidates(S& s, const L7Target& target) {
  s.candidates.clear();
  for (const auto& b : target.backends) s.candidates.push_back({b.instance, b.active ? b.active->load() : 0});
}

template <class S>
std::optional<Balancer::Choice> choose(S& s, const L7Target& target, const Balancer::Request& info) {
  return target.balancer->choose(s.candidates, info, s.excluded, Balancer::Clock::now(), s.w.rng());
}

// `choice` with one of its kept-alive connections, if the pool has one.
template <class S>
Picked pooled(S& s, const L7Target& target, const Balancer::Choice& choice) {
  return Picked{s.w.pool.take(target.backends[choice.index].address, !s.retryable), choice.index, choice.set_cookie};
}

// Connects to `choice`, and when an instance refuses, to the balancer's next choice
// (nothing was sent to it, so trying another is always safe). No conn: none is left.
template <class S>
Task<Picked> pick(S& s, const L7Target& target, const Balancer::Request& info,
                  std::optional<Balancer::Choice> choice) {
  for (; choice; choice = choose(s, target, info)) {
    if (auto picked = pooled(s, target, *choice); picked.conn) co_return picked;
    if (auto conn = co_await connect(s, target.backends[choice->index])) {
      co_return Picked{std::move(conn), choice->index, choice->set_cookie};
    }
    s.excluded[choice->index] = true;
  }
  co_return Picked{};
}


}  // namespace prisn::proxy::detail
