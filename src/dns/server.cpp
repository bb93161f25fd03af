// SPDX-License-Identifier: MIT
#include "prisn/dns/server.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <fmt/format.h>
#include <map>

#include "dns/forwarder.hpp"
#include "dns/local_networks.hpp"
#include "dns/reply_source.hpp"
#include "prisn/core/accept_retry.hpp"
#include "prisn/core/log.hpp"
#include "prisn/dns/resolv_conf.hpp"
#include "prisn/dns/responder.hpp"

namespace prisn::dns {
namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using namespace asio::experimental::awaitable_operators;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr std::size_t kBatch = 32;          // datagrams per recvmmsg/sendmmsg
constexpr std::size_t kMaxDatagram = 4096;  // larger queries are not DNS queries
constexpr int kRoundsPerWake = 16;          // batches drained before yielding to other work

std::string endpoint_text(const asio::ip::address& a, std::uint16_t port) {
  return a.is_v6() ? fmt::format("[{}]:{}", a.to_string(), port) : fmt::format("{}:{}", a.to_string(), port);
}

// "host", "host:port", "[v6]:port" or a bare IPv6 address; port 53 by default.
std::optional<udp::endpoint> parse_upstream(const std::string& text) {
  std::string host = text;
  std::uint16_t port = 53;
  auto set_port = [&](const std::string& p) {
    try {
      const int v = std::stoi(p);
      if (v < 1 || v > 65535) return false;
      port = static_cast<std::uint16_t>(v);
      return true;
    } catch (const std::exception&) {
      return false;
    }
  };
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    if (close + 1 < text.size() && (text[close + 1] != ':' || !set_port(text.substr(close + 2)))) return std::nullopt;
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    host = text.substr(0, text.find(':'));
    if (!set_port(text.substr(text.find(':') + 1))) return std::nullopt;
  }
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  return udp::endpoint(address, port);
}

// Whether `upstream` is prisn DNS listening on `own`: forwarding there would come back here.
bool is_self(const udp::endpoint& upstream, const udp::endpoint& own) {
  if (upstream.port() != own.port()) return false;
  return upstream.address() == own.address() || (own.address().is_unspecified() && upstream.address().is_loopback());
}

void count_reply(ServerStats& stats, std::uint16_t rcode, bool truncated) {
  stats.replies[std::min<std::size_t>(rcode, ServerStats::kRcodes - 1)].fetch_add(1, std::memory_order_relaxed);
  if (truncated) stats.truncated.fetch_add(1, std::memory_order_relaxed);
}

// For replies from upstreams: the header's rcode (extended rcodes are not told apart here).
void count_forwarded(ServerStats& stats, std::span<const std::uint8_t> reply) {
  if (reply.size() >= 12) count_reply(stats, reply[3] & 0xF, (reply[2] & 0x02) != 0);
}

}  // namespace

struct Server::Impl {
  Impl(asio::io_context& io, ServerOptions o, std::vector<udp::endpoint> ups)
      : io(io),
        options(std::move(o)),
        udp_socket(io),
        acceptor(io),
        forwarder(io.get_executor(), std::move(ups), options.upstream_timeout, options.cache_entries,
                  options.max_forwards_in_flight, stats) {}

  asio::io_context& io;
  ServerOptions options;
  ServerStats stats;
  udp::socket udp_socket;
  tcp::acceptor acceptor;
  detail::Forwarder forwarder;
  // DNS thread only:
  std::shared_ptr<const Zone> zone = Zone::build({}, {}, 0);
  detail::LocalNetworks local;
  std::uint32_t rotation = 0;
  // Bound to a wildcard address: each UDP reply leaves from the address its query came to.
  bool reply_from_destination = false;
  // Open TCP connections: whether each waits for its next query, and since when.
  struct TcpConnection {
    bool idle = true;
    std::chrono::steady_clock::time_point idle_since = std::chrono::steady_clock::now();
    bool evicted = false;
  };
  std::map<tcp::socket*, TcpConnection> tcp_connections;
  bool stopped = false;
  std::shared_ptr<spdlog::logger> log = logger("dns");
};

namespace {

using ImplPtr = std::shared_ptr<Server::Impl>;

void log_escaped(const ImplPtr& impl, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    impl->log->error("a DNS task ended by an unexpected failure: {}", ex.what());
  }
}

// Sends one datagram from `local` (see reply_source.hpp), waiting while the socket is full.
asio::awaitable<void> send_from(udp::socket& socket, std::span<const std::uint8_t> datagram, udp::endpoint client,
                                const detail::LocalAddress& local) {
  iovec iov{const_cast<std::uint8_t*>(datagram.data()), datagram.size()};
  detail::ControlBuffer control;
  msghdr msg{};
  msg.msg_name = client.data();
  msg.msg_namelen = static_cast<socklen_t>(client.size());
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  detail::set_reply_source(msg, control, local);
  for (;;) {
    const auto n = ::sendmsg(socket.native_handle(), &msg, MSG_DONTWAIT);
    if (n >= 0 || (errno != EAGAIN && errno != EINTR)) co_return;  // an error drops it, as UDP may
    if (errno == EAGAIN) {
      auto [ec] = co_await socket.async_wait(udp::socket::wait_write, kNoThrow);
      if (ec) co_return;
    }
  }
}

asio::awaitable<void> reply_forwarded(ImplPtr impl, std::vector<std::uint8_t> query, udp::endpoint client,
                                      std::size_t limit, std::optional<detail::LocalAddress> local) {
  const auto reply = co_await impl->forwarder.resolve(std::move(query), limit, false);
  if (impl->stopped) co_return;
  count_forwarded(impl->stats, reply);
  if (local) {
    co_await send_from(impl->udp_socket, reply, client, *local);
  } else {
    co_await impl->udp_socket.async_send_to(asio::buffer(reply), client, kNoThrow);
  }
}

// The buffers of one recvmmsg/sendmmsg batch, reused for every batch.
struct Batch {
  Batch() {
    for (std::size_t i = 0; i < kBatch; ++i) {
      in_iov[i] = {in[i].data(), in[i].size()};
    }
  }
  void arm(bool with_destination) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      std::memset(&in_msgs[i], 0, sizeof in_msgs[i]);
      in_msgs[i].msg_hdr.msg_name = &peers[i];
      in_msgs[i].msg_hdr.msg_namelen = sizeof peers[i];
      in_msgs[i].msg_hdr.msg_iov = &in_iov[i];
      in_msgs[i].msg_hdr.msg_iovlen = 1;
      if (with_destination) {
        in_msgs[i].msg_hdr.msg_control = in_control[i].data();
        in_msgs[i].msg_hdr.msg_controllen = in_control[i].size();
      }
    }
  }
  std::array<std::array<std::uint8_t, kMaxDatagram>, kBatch> in{};
  std::array<iovec, kBatch> in_iov{};
  std::array<sockaddr_storage, kBatch> peers{};
  std::array<mmsghdr, kBatch> in_msgs{};
  std::array<detail::ControlBuffer, kBatch> in_control{};
  std::array<std::vector<std::uint8_t>, kBatch> out;
  std::array<iovec, kBatch> out_iov{};
  std::array<mmsghdr, kBatch> out_msgs{};
  std::array<detail::ControlBuffer, kBatch> out_control{};
};

udp::endpoint to_endpoint(const sockaddr_storage& ss, socklen_t len) {
  udp::endpoint ep;
  std::memcpy(ep.data(), &ss, std::min<std::size_t>(len, sizeof(sockaddr_storage)));
  return ep;
}

void send_batch(int fd, Batch& b, std::size_t count) {
  std::size_t sent = 0;
  while (sent < count) {
    const int n = ::sendmmsg(fd, &b.out_msgs[sent], static_cast<unsigned>(count - sent), MSG_DONTWAIT);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      ++sent;  // EAGAIN or a bad peer address: UDP may drop this reply, the client retries
      continue;
    }
    sent += static_cast<std::size_t>(n);
  }
}

// One batch: answer what the zone answers, hand the rest to the forwarder.
std::size_t serve_batch(const ImplPtr& impl, Batch& b, std::size_t received) {
  const auto zone = impl->zone;  // one consistent view for the batch
  std::size_t replies = 0;
  for (std::size_t i = 0; i < received; ++i) {
    auto& msg = b.in_msgs[i];
    const udp::endpoint client = to_endpoint(b.peers[i], msg.msg_hdr.msg_namelen);
    if ((msg.msg_hdr.msg_flags & MSG_TRUNC) != 0) {
      impl->stats.dropped.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    const std::span<const std::uint8_t> query(b.in[i].data(), msg.msg_len);
    RespondOptions options{.tcp = false, .may_forward = impl->local.contains(client.address()),
                           .rotation = impl->rotation++};
    const Reply reply = respond(*zone, query, options, b.out[replies]);
    const auto local =
        impl->reply_from_destination ? detail::destination_of(msg.msg_hdr) : std::optional<detail::LocalAddress>();
    if (reply.outcome == Outcome::kDrop) {
      impl->stats.dropped.fetch_add(1, std::memory_order_relaxed);
    } else if (reply.outcome == Outcome::kForward) {
      QueryHead head;
      (void)parse_query_head(query, head);
      asio::co_spawn(impl->io,
                     reply_forwarded(impl, {query.begin(), query.end()}, client, udp_reply_limit(head, kMaxDatagram),
                                     local),
                     [impl](std::exception_ptr e) { log_escaped(impl, e); });
    } else {
      count_reply(impl->stats, reply.rcode, reply.truncated);
      auto& out = b.out_msgs[replies];
      std::memset(&out, 0, sizeof out);
      b.out_iov[replies] = {b.out[replies].data(), b.out[replies].size()};
      out.msg_hdr.msg_name = &b.peers[i];
      out.msg_hdr.msg_namelen = msg.msg_hdr.msg_namelen;
      out.msg_hdr.msg_iov = &b.out_iov[replies];
      out.msg_hdr.msg_iovlen = 1;
      if (local) detail::set_reply_source(out.msg_hdr, b.out_control[replies], *local);
      ++replies;
    }
  }
  return replies;
}

// One receive loop for the UDP socket: wait until readable, then drain it in batches.
asio::awaitable<void> udp_loop(ImplPtr impl) {
  auto batch = std::make_unique<Batch>();
  const int fd = impl->udp_socket.native_handle();
  for (;;) {
    auto [ec] = co_await impl->udp_socket.async_wait(udp::socket::wait_read, kNoThrow);
    if (ec || impl->stopped) co_return;
    for (int round = 0; round < kRoundsPerWake; ++round) {
      batch->arm(impl->reply_from_destination);
      const int n = ::recvmmsg(fd, batch->in_msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) break;
      const std::size_t replies = serve_batch(impl, *batch, static_cast<std::size_t>(n));
      send_batch(fd, *batch, replies);
      if (static_cast<std::size_t>(n) < kBatch) break;
    }
  }
}

// Reads `buffer` fully before the idle timer fires; false on timeout, EOF or error.
template <class Buffer>
asio::awaitable<bool> read_within(tcp::socket& socket, asio::steady_timer& timer, Buffer buffer) {
  auto r = co_await (asio::async_read(socket, buffer, kNoThrow) || timer.async_wait(kNoThrow));
  co_return r.index() == 0 && !std::get<0>(std::get<0>(r));
}

// DNS over TCP (RFC 7766): length-prefixed messages, answered in order, until idle.
asio::awaitable<void> tcp_session(ImplPtr impl, tcp::socket socket) {
  auto& self = impl->tcp_connections[&socket];
  boost::system::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  const bool may_forward = !ec && impl->local.contains(peer.address());
  asio::steady_timer timer(socket.get_executor());
  std::vector<std::uint8_t> query, reply;
  while (!impl->stopped) {
    std::uint8_t length[2];
    timer.expires_after(impl->options.tcp_idle_timeout);
    self.idle = true;
    self.idle_since = std::chrono::steady_clock::now();
    if (!co_await read_within(socket, timer, asio::buffer(length))) break;
    query.resize(static_cast<std::size_t>(length[0] << 8 | length[1]));
    if (!co_await read_within(socket, timer, asio::buffer(query))) break;
    self.idle = false;  // waiting on the client until here: a trickler may be closed for room too
    const RespondOptions options{.tcp = true, .may_forward = may_forward, .rotation = impl->rotation++};
    const auto zone = impl->zone;
    const Reply r = respond(*zone, query, options, reply);
    if (r.outcome == Outcome::kDrop) continue;
    if (r.outcome == Outcome::kForward) {
      reply = co_await impl->forwarder.resolve(query, 65535, true);
      count_forwarded(impl->stats, reply);
    } else {
      count_reply(impl->stats, r.rcode, false);
    }
    if (impl->stopped) break;
    const std::uint8_t out_length[2] = {static_cast<std::uint8_t>(reply.size() >> 8),
                                        static_cast<std::uint8_t>(reply.size())};
    const std::array<asio::const_buffer, 2> out{asio::buffer(out_length), asio::buffer(reply)};
    timer.expires_after(impl->options.tcp_idle_timeout);
    auto w = co_await (asio::async_write(socket, out, kNoThrow) || timer.async_wait(kNoThrow));
    if (w.index() != 0 || std::get<0>(std::get<0>(w))) break;
  }
  impl->tcp_connections.erase(&socket);
  socket.close(ec);
}

// At the connection limit, a new client must not be shut out by connections that only sit
// there (RFC 7766 §6.2.3 lets a server close idle ones when short of resources): the one idle
// longest is closed to make room. False when every connection is busy with a query.
bool make_room(Server::Impl& impl) {
  if (impl.tcp_connections.size() < impl.options.max_tcp_connections) return true;  // the usual case: no scan
  std::size_t open = 0;
  Server::Impl::TcpConnection* oldest = nullptr;
  tcp::socket* oldest_socket = nullptr;
  for (auto& [socket, c] : impl.tcp_connections) {
    if (c.evicted) continue;  // closing already
    ++open;
    if (c.idle && (oldest == nullptr || c.idle_since < oldest->idle_since)) {
      oldest = &c;
      oldest_socket = socket;
    }
  }
  if (open < impl.options.max_tcp_connections) return true;
  if (oldest == nullptr) return false;
  oldest->evicted = true;
  boost::system::error_code ec;
  oldest_socket->close(ec);  // its pending read ends, and its session with it
  return true;
}

asio::awaitable<void> tcp_accept_loop(ImplPtr impl) {
  for (;;) {
    auto [ec, socket] = co_await impl->acceptor.async_accept(kNoThrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !impl->acceptor.is_open() || impl->stopped) co_return;
      // EMFILE and friends: keep serving UDP and the open connections, without a spin.
      asio::steady_timer pause(impl->io, kAcceptRetryPause);
      co_await pause.async_wait(kNoThrow);
      continue;
    }
    if (!make_room(*impl)) {
      socket.close(ec);  // every connection is busy: the client retries; better than running out of descriptors
      continue;
    }
    asio::co_spawn(impl->io, tcp_session(impl, std::move(socket)), [impl](std::exception_ptr e) { log_escaped(impl, e); });
  }
}

// Binds UDP then TCP on one port; with port 0, retries until a port is free for both.
boost::system::error_code bind_both(Server::Impl& impl, const asio::ip::address& address, std::uint16_t port) {
  boost::system::error_code ec;
  for (int attempt = 0; attempt < 50; ++attempt) {
    impl.udp_socket.close(ec);
    impl.acceptor.close(ec);
    const udp::endpoint uep(address, port);
    impl.udp_socket.open(uep.protocol(), ec);
    if (!ec) impl.udp_socket.bind(uep, ec);
    if (ec) return ec;
    const std::uint16_t bound = impl.udp_socket.local_endpoint(ec).port();
    const tcp::endpoint tep(address, bound);
    impl.acceptor.open(tep.protocol(), ec);
    if (!ec) impl.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) impl.acceptor.bind(tep, ec);
    if (!ec) impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec || port != 0) return ec;
  }
  return ec;
}

}  // namespace

Server::Server(asio::io_context& io, ServerOptions options) {
  std::vector<udp::endpoint> upstreams;
  auto log = logger("dns");
  for (const auto& text : options.upstreams) {
    if (auto ep = parse_upstream(text)) {
      upstreams.push_back(*ep);
    } else {
      log->warn("upstream '{}' is not an address (host or host:port); ignored", text);
    }
  }
  impl_ = std::make_shared<Impl>(io, std::move(options), std::move(upstreams));
}

Server::~Server() { stop(); }

Result<std::string> Server::start() {
  auto& d = *impl_;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(d.options.host, ec);
  if (ec) return Error::invalid(fmt::format("'{}' is not an IP address", d.options.host));
  if (auto bound = bind_both(d, address, d.options.port); bound) {
    d.udp_socket.close(ec);
    d.acceptor.close(ec);
    return Error::unavailable(bound.message());
  }
  const udp::endpoint own(address, d.udp_socket.local_endpoint(ec).port());
  for (const auto& skipped : d.forwarder.drop_upstreams([&](const udp::endpoint& up) { return is_self(up, own); })) {
    d.log->warn("upstream {} is prisn DNS itself: skipped (a query sent there would come back)",
                endpoint_text(skipped.address(), skipped.port()));
  }
  d.udp_socket.non_blocking(true, ec);
  if (address.is_unspecified()) {
    d.reply_from_destination =
        detail::enable_destination_info(d.udp_socket.native_handle(), address.is_v6() ? AF_INET6 : AF_INET);
    if (!d.reply_from_destination) {
      d.log->warn("cannot learn where UDP queries were sent ({}): a reply to a query sent to a secondary address "
                  "leaves from the primary one, which the client ignores", std::strerror(errno));
    }
  }
  const int buffer = 4 << 20;  // absorb bursts while a batch is being answered
  ::setsockopt(d.udp_socket.native_handle(), SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  auto done = [impl = impl_](std::exception_ptr e) { log_escaped(impl, e); };
  asio::co_spawn(d.io, udp_loop(impl_), done);
  asio::co_spawn(d.io, tcp_accept_loop(impl_), done);
  return endpoint_text(address, d.udp_socket.local_endpoint(ec).port());
}

void Server::stop() {
  asio::post(impl_->io, [impl = impl_]() {
    if (impl->stopped) return;
    impl->stopped = true;
    boost::system::error_code ec;
    impl->udp_socket.close(ec);
    impl->acceptor.close(ec);
    for (auto& [socket, c] : impl->tcp_connections) socket->close(ec);
    impl->forwarder.stop();
  });
}

void Server::publish(std::shared_ptr<const Zone> zone) {
  asio::post(impl_->io, [impl = impl_, zone = std::move(zone)]() mutable { impl->zone = std::move(zone); });
}

const ServerStats& Server::stats() const { return impl_->stats; }

std::vector<std::string> Server::upstreams() const {
  std::vector<std::string> out;
  for (const auto& ep : impl_->forwarder.upstreams()) out.push_back(endpoint_text(ep.address(), ep.port()));
  return out;
}

std::vector<std::string> upstreams_from_resolv_conf(const std::string& text, const std::string& self) {
  const auto own = parse_upstream(self);
  std::vector<std::string> out;
  for (const auto& ns : parse_resolv_conf(text).nameservers) {
    const auto ep = parse_upstream(ns);
    if (ep && !(own && is_self(*ep, *own))) out.push_back(endpoint_text(ep->address(), ep->port()));
  }
  return out;
}

}  // namespace prisn::dns
