// SPDX-License-Identifier: MIT
#include "prisn/dns/client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "prisn/core/random.hpp"

namespace prisn::dns {
namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using namespace asio::experimental::awaitable_operators;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

namespace {

WireResult<udp::endpoint> endpoint_of(const std::string& server) {
  std::string host = server;
  std::string port = "53";
  if (server.starts_with('[')) {
    const auto close = server.find(']');
    host = server.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    if (close != std::string::npos && close + 2 < server.size()) port = server.substr(close + 2);
  } else if (const auto colon = server.rfind(':'); colon != std::string::npos) {
    host = server.substr(0, colon);
    port = server.substr(colon + 1);
  }
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return ec;
  if (address.is_unspecified()) {  // a server on 0.0.0.0 answers on loopback too
    return udp::endpoint(address.is_v4() ? asio::ip::address(asio::ip::address_v4::loopback())
                                         : asio::ip::address(asio::ip::address_v6::loopback()),
                         static_cast<std::uint16_t>(std::stoi(port)));
  }
  return udp::endpoint(address, static_cast<std::uint16_t>(std::stoi(port)));
}

bool answers(const Message& reply, const Message& query) {
  return reply.qr && reply.id == query.id && reply.questions == query.questions;
}

asio::awaitable<WireResult<Message>> over_tcp(asio::any_io_executor ex, udp::endpoint server, Message query,
                                              asio::steady_timer& timer) {
  tcp::socket socket(ex);
  std::vector<std::uint8_t> wire(2);
  serialize(query, wire);
  wire[0] = static_cast<std::uint8_t>((wire.size() - 2) >> 8);
  wire[1] = static_cast<std::uint8_t>(wire.size() - 2);
  auto c = co_await (socket.async_connect(tcp::endpoint(server.address(), server.port()), kNoThrow) ||
                     timer.async_wait(kNoThrow));
  if (c.index() != 0) co_return boost::system::error_code(asio::error::timed_out);
  if (auto ec = std::get<0>(std::get<0>(c))) co_return ec;
  auto w = co_await (asio::async_write(socket, asio::buffer(wire), kNoThrow) || timer.async_wait(kNoThrow));
  if (w.index() != 0) co_return boost::system::error_code(asio::error::timed_out);
  std::uint8_t length[2];
  auto l = co_await (asio::async_read(socket, asio::buffer(length), kNoThrow) || timer.async_wait(kNoThrow));
  if (l.index() != 0) co_return boost::system::error_code(asio::error::timed_out);
  if (auto ec = std::get<0>(std::get<0>(l))) co_return ec;
  std::vector<std::uint8_t> reply(static_cast<std::size_t>(length[0] << 8 | length[1]));
  auto b = co_await (asio::async_read(socket, asio::buffer(reply), kNoThrow) || timer.async_wait(kNoThrow));
  if (b.index() != 0) co_return boost::system::error_code(asio::error::timed_out);
  if (auto ec = std::get<0>(std::get<0>(b))) co_return ec;
  co_return parse(reply);
}

}  // namespace

asio::awaitable<WireResult<Message>> lookup(asio::any_io_executor ex, std::string server, Name name,
                                            std::uint16_t type, std::chrono::milliseconds timeout) {
  auto endpoint = endpoint_of(server);
  if (!endpoint) co_return endpoint.error();
  Message query;
  random_bytes(&query.id, sizeof query.id);
  query.rd = true;
  query.questions.push_back({std::move(name), type, kClassIn});
  query.edns = Edns{.udp_size = 4096};
  std::vector<std::uint8_t> wire;
  serialize(query, wire);

  asio::steady_timer timer(ex, timeout);
  udp::socket socket(ex);
  boost::system::error_code ec;
  socket.open(endpoint->protocol(), ec);
  if (ec) co_return ec;
  auto [sec, sent] = co_await socket.async_send_to(asio::buffer(wire), *endpoint, kNoThrow);
  if (sec) co_return sec;
  std::vector<std::uint8_t> buf(65535);
  for (;;) {
    udp::endpoint from;
    auto r = co_await (socket.async_receive_from(asio::buffer(buf), from, kNoThrow) || timer.async_wait(kNoThrow));
    if (r.index() != 0) co_return boost::system::error_code(asio::error::timed_out);
    auto [rec, n] = std::get<0>(r);
    if (rec) co_return rec;
    auto reply = parse(std::span(buf.data(), n));
    if (!reply || !answers(*reply, query)) continue;  // not ours: keep waiting
    if (!reply->tc) co_return reply;
    co_return co_await over_tcp(ex, *endpoint, query, timer);
  }
}

}  // namespace prisn::dns
