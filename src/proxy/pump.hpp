// SPDX-License-Identifier: MIT
// Copying bytes between two connections until both directions end (private to prisn_proxy):
// the L4 proxy's splice and the L7 router's Upgrade tunnel.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <array>
#include <chrono>
#include <memory>
#include <type_traits>

namespace prisn::proxy::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

template <class Executor>
asio::basic_stream_socket<tcp, Executor>& raw_socket(asio::basic_stream_socket<tcp, Executor>& s) {
  return s;
}
template <class Next>
auto& raw_socket(Next& s) requires requires { s.next_layer(); } {
  return raw_socket(s.next_layer());
}

template <class T>
inline constexpr bool kIsTcpSocket = std::is_same_v<T, asio::basic_stream_socket<tcp, typename T::executor_type>>;

/// How long a connection may stay half-closed (one direction ended) with no byte moving the
/// other way before both are closed, as HAProxy's `timeout client-fin` / `server-fin`: a
/// peer that never closes its side would otherwise hold two descriptors for good.
inline constexpr std::chrono::seconds kHalfClosedIdle{60};

/// What the two directions of one splice share.
template <class Executor>
struct SpliceState {
  SpliceState(Executor ex, std::chrono::steady_clock::duration idle) : timer(ex), half_closed_idle(idle) {}
  asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, Executor> timer;
  std::chrono::steady_clock::duration half_closed_idle;
  std::chrono::steady_clock::time_point last_moved{};  // kept once a direction has ended
  int ended = 0;       // directions that have ended
  bool done = false;   // both have: the sockets may be gone
};

/// Once one direction has ended: closes both sockets when nothing has moved the other way for
/// the state's limit, which ends the other direction too. A plain timer wait, re-armed while
/// bytes move; a splice that ends first cancels it (`done`: the sockets may be gone).
template <class A, class B, class Executor>
void close_when_half_closed_idle(A& a, B& b, std::shared_ptr<SpliceState<Executor>> st) {
  st->timer.expires_at(st->last_moved + st->half_closed_idle);
  st->timer.async_wait([&a, &b, st](boost::system::error_code ec) {
    if (ec || st->done) return;
    if (std::chrono::steady_clock::now() - st->last_moved < st->half_closed_idle) {
      close_when_half_closed_idle(a, b, st);  // something moved meanwhile
      return;
    }
    boost::system::error_code ignored;
    raw_socket(a).cancel(ignored);
    raw_socket(b).cancel(ignored);
    raw_socket(a).shutdown(tcp::socket::shutdown_both, ignored);
    raw_socket(b).shutdown(tcp::socket::shutdown_both, ignored);
  });
}

/// Copies `from` to `to` until EOF or an error, then half-closes `to` for sending (after
/// close_notify when `to` is TLS).
///
/// Between two plain sockets (both non-blocking) it reads and writes synchronously and waits
/// only for readiness, as nginx and HAProxy do: a relayed message costs one recv and one
/// send. Asio's async_read_some would first try a recv that, in a request/answer exchange,
/// always finds nothing yet — a third system call per message. Readiness is tracked as
/// epoll's edge-triggered contract requires: the pump waits only right after a read found
/// `from` empty (EAGAIN, or fewer bytes than asked), with nothing run in between that could
/// have taken the wake-up meant for it; after a write that had to wait, it reads first.
template <class From, class To, class Executor>
asio::awaitable<void, typename From::executor_type> pump(From& from, To& to, std::shared_ptr<SpliceState<Executor>> st) {
  constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable_t<typename From::executor_type>{});
  std::array<char, 16384> buf;
  const auto moved = [&st] {
    if (st->ended > 0) st->last_moved = std::chrono::steady_clock::now();  // only half-closed: no clock read before
  };
  if constexpr (kIsTcpSocket<From> && kIsTcpSocket<To>) {
    bool may_have_data = true;
    for (;;) {
      if (!may_have_data) {
        if (auto [wec] = co_await from.async_wait(tcp::socket::wait_read, kNoThrow); wec) break;
      }
      boost::system::error_code ec;
      const std::size_t n = from.read_some(asio::buffer(buf), ec);
      if (ec == asio::error::would_block) {
        may_have_data = false;
        continue;
      }
      may_have_data = n == buf.size();
      if (n > 0) {
        boost::system::error_code wec;
        const std::size_t now = asio::write(to, asio::buffer(buf.data(), n), wec);
        if (wec == asio::error::would_block) {
          auto [aec, rest] = co_await asio::async_write(to, asio::buffer(buf.data() + now, n - now), kNoThrow);
          wec = aec;
          may_have_data = true;  // while it waited, the reactor may have taken our wake-up
        }
        if (wec) break;
        moved();
      }
      if (ec) break;
    }
  } else {
    for (;;) {
      auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), kNoThrow);
      if (n > 0) {
        auto [wec, written] = co_await asio::async_write(to, asio::buffer(buf.data(), n), kNoThrow);
        if (wec) break;
        moved();
      }
      if (ec) break;
    }
  }
  if constexpr (requires { to.async_shutdown(kNoThrow); }) {
    co_await to.async_shutdown(kNoThrow);  // TLS: close_notify before the TCP half-close that ends `to`
  }
  boost::system::error_code ignored;
  raw_socket(to).shutdown(tcp::socket::shutdown_send, ignored);
  raw_socket(from).shutdown(tcp::socket::shutdown_receive, ignored);
  if (++st->ended == 1) {
    st->last_moved = std::chrono::steady_clock::now();
    close_when_half_closed_idle(from, to, st);
  }
}

/// Both directions at once; returns when both have ended. Plain sockets must be
/// non-blocking (see pump). Half-closed with nothing moving for `half_closed_idle`, both end.
template <class A, class B>
asio::awaitable<void, typename A::executor_type> splice(A& a, B& b,
                                                       std::chrono::steady_clock::duration half_closed_idle = kHalfClosedIdle) {
  using namespace asio::experimental::awaitable_operators;
  using Executor = typename A::executor_type;
  auto st = std::make_shared<SpliceState<Executor>>(a.get_executor(), half_closed_idle);
  co_await (pump(a, b, st) && pump(b, a, st));
  st->done = true;  // before the sockets go: the watchdog must not touch them
  st->timer.cancel();
}

}  // namespace prisn::proxy::detail
