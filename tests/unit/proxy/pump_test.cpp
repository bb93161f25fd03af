// SPDX-License-Identifier: MIT
// Splicing two connections: a half-closed one whose other side never closes is ended after
// the limit, and one that keeps moving bytes is not.
#include "proxy/pump.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <chrono>

namespace prisn::proxy::detail {
namespace {

using namespace std::chrono_literals;

// Two connected loopback sockets.
std::pair<tcp::socket, tcp::socket> socket_pair(asio::io_context& io) {
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  tcp::socket a(io);
  a.connect(acceptor.local_endpoint());
  tcp::socket b = acceptor.accept();
  return {std::move(a), std::move(b)};
}

struct Spliced {
  // client <-> [client_side | upstream_side] <-> instance
  explicit Spliced(asio::io_context& io, std::chrono::milliseconds limit) {
    auto [c, cs] = socket_pair(io);
    auto [us, i] = socket_pair(io);
    client = std::move(c);
    client_side = std::move(cs);
    upstream_side = std::move(us);
    instance = std::move(i);
    client_side->non_blocking(true);
    upstream_side->non_blocking(true);
    asio::co_spawn(io, splice(*client_side, *upstream_side, limit), [this](std::exception_ptr) { ended = true; });
  }
  std::optional<tcp::socket> client, client_side, upstream_side, instance;
  bool ended = false;
};

TEST(Splice, AHalfClosedConnectionWithNothingMovingIsEndedAfterTheLimit) {
  asio::io_context io;
  Spliced s(io, 300ms);
  s.client->shutdown(tcp::socket::shutdown_send);  // the client is done; the instance never closes
  io.run_for(150ms);
  EXPECT_FALSE(s.ended);
  io.run_for(1s);
  EXPECT_TRUE(s.ended);
  char byte = 0;
  boost::system::error_code ec;
  s.instance->read_some(asio::buffer(&byte, 1), ec);  // the instance is told: end of stream
  EXPECT_EQ(ec, asio::error::eof);
}

TEST(Splice, AHalfClosedConnectionThatKeepsAnsweringStaysOpen) {
  asio::io_context io;
  Spliced s(io, 300ms);
  s.client->shutdown(tcp::socket::shutdown_send);
  for (int i = 0; i < 6; ++i) {  // 600 ms in all, a byte every 100 ms
    asio::write(*s.instance, asio::buffer("x", 1));
    io.run_for(100ms);
  }
  EXPECT_FALSE(s.ended);
  char got[16];
  EXPECT_EQ(s.client->read_some(asio::buffer(got)), 6U);
  s.instance->shutdown(tcp::socket::shutdown_send);
  io.run_for(200ms);
  EXPECT_TRUE(s.ended);
}

TEST(Splice, AnOpenIdleConnectionIsKept) {
  asio::io_context io;
  Spliced s(io, 100ms);
  io.run_for(500ms);  // a pooled database connection may sit idle for hours
  EXPECT_FALSE(s.ended);
}

}  // namespace
}  // namespace prisn::proxy::detail
