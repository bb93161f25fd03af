// SPDX-License-Identifier: MIT
// Copying bytes between two connections until both directions end (private to prisn_proxy):
// the L4 proxy's splice and the L7 router's Upgrade tunnel.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <array>

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

/// Copies `from` to `to` until EOF or an error, then half-closes `to` for sending.
template <class From, class To>
asio::awaitable<void, typename From::executor_type> pump(From& from, To& to) {
  constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable_t<typename From::executor_type>{});
  std::array<char, 16384> buf;
  for (;;) {
    auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), kNoThrow);
    if (n > 0) {
      auto [wec, written] = co_await asio::async_write(to, asio::buffer(buf.data(), n), kNoThrow);
      if (wec) break;
    }
    if (ec) break;
  }
  boost::system::error_code ignored;
  raw_socket(to).shutdown(tcp::socket::shutdown_send, ignored);
  raw_socket(from).shutdown(tcp::socket::shutdown_receive, ignored);
}

/// Both directions at once; returns when both have ended.
template <class A, class B>
asio::awaitable<void, typename A::executor_type> splice(A& a, B& b) {
  using namespace asio::experimental::awaitable_operators;
  co_await (pump(a, b) && pump(b, a));
}

}  // namespace prisn::proxy::detail
