// SPDX-License-Identifier: MIT
#include "prisn/proxy/l4_proxy.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <mutex>

#include "prisn/core/log.hpp"
#include "proxy/pump.hpp"

namespace prisn::proxy {
namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

struct Listener {
  Listener(asio::io_context& io, std::string n) : name(std::move(n)), acceptor(io) {}
  std::string name;
  tcp::acceptor acceptor;
  std::string address;
  std::shared_ptr<ListenerStats> stats;
  std::atomic<std::uint64_t> next{0};
};

struct L4Proxy::Impl {
  explicit Impl(asio::io_context& io) : io(io) {}
  asio::io_context& io;
  // Data-plane thread only:
  std::shared_ptr<const L4Snapshot> snapshot = std::make_shared<L4Snapshot>();
  // Control thread only:
  std::map<std::string, std::shared_ptr<Listener>> listeners;
  mutable std::mutex stats_mutex;  // guards the map, not the counters
  std::map<std::string, std::shared_ptr<ListenerStats>> stats;
};

namespace {

asio::awaitable<void> serve(std::shared_ptr<L4Proxy::Impl> impl, std::shared_ptr<Listener> listener,
                            tcp::socket client) {
  ListenerStats& stats = *listener->stats;
  stats.connections.fetch_add(1, std::memory_order_relaxed);
  const auto snapshot = impl->snapshot;  // one consistent view for this connection
  auto it = snapshot->routes.find(listener->name);
  tcp::socket upstream(client.get_executor());
  const Backend* chosen = nullptr;
  if (it != snapshot->routes.end() && !it->second.empty()) {
    const auto& backends = it->second;
    const std::size_t start = listener->next.fetch_add(1, std::memory_order_relaxed);
    for (std::size_t attempt = 0; attempt < backends.size(); ++attempt) {
      const Backend& b = backends[(start + attempt) % backends.size()];
      boost::system::error_code ec;
      const auto address = asio::ip::make_address(b.host, ec);
      if (ec) continue;
      auto [cec] = co_await upstream.async_connect(tcp::endpoint(address, b.port), kNoThrow);
      if (!cec) {
        chosen = &b;
        break;
      }
      upstream.close(ec);  // refused: try the next instance before the client sees anything
    }
  }
  if (chosen == nullptr) {
    stats.failed.fetch_add(1, std::memory_order_relaxed);
    boost::system::error_code ignored;
    client.close(ignored);
    co_return;
  }
  chosen->connections->fetch_add(1, std::memory_order_relaxed);
  stats.active.fetch_add(1, std::memory_order_relaxed);
  boost::system::error_code ignored;
  client.set_option(tcp::no_delay(true), ignored);
  upstream.set_option(tcp::no_delay(true), ignored);
  co_await detail::splice(client, upstream);
  chosen->connections->fetch_sub(1, std::memory_order_relaxed);
  stats.active.fetch_sub(1, std::memory_order_relaxed);
}

asio::awaitable<void> accept_loop(std::shared_ptr<L4Proxy::Impl> impl, std::shared_ptr<Listener> listener) {
  for (;;) {
    auto [ec, socket] = co_await listener->acceptor.async_accept(kNoThrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !listener->acceptor.is_open()) {
        co_return;
      }
      continue;  // EMFILE and friends: keep serving the others
    }
    asio::co_spawn(listener->acceptor.get_executor(), serve(impl, listener, std::move(socket)),
                   asio::detached);
  }
}

}  // namespace

L4Proxy::L4Proxy(asio::io_context& data_plane) : impl_(std::make_shared<Impl>(data_plane)) {}

L4Proxy::~L4Proxy() {
  for (auto& [name, l] : impl_->listeners) {
    asio::post(impl_->io, [l]() {
      boost::system::error_code ignored;
      l->acceptor.close(ignored);
    });
  }
}

Result<std::uint16_t> L4Proxy::open(const std::string& name, const std::string& host, std::uint16_t port) {
  close(name);
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) {
    return Error::invalid(fmt::format("'{}' is not an IP address", host));
  }
  auto listener = std::make_shared<Listener>(impl_->io, name);
  const tcp::endpoint endpoint(address, port);
  auto& a = listener->acceptor;
  if (a.open(endpoint.protocol(), ec); !ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error::conflict(fmt::format("cannot listen on {}:{}: {}", host, port, ec.message()));
  }
  const auto bound = a.local_endpoint(ec).port();
  listener->address = fmt::format("{}:{}", host, bound);
  {
    std::lock_guard lock(impl_->stats_mutex);
    auto& stats = impl_->stats[name];
    if (!stats) stats = std::make_shared<ListenerStats>();
    listener->stats = stats;
  }
  impl_->listeners[name] = listener;
  asio::co_spawn(impl_->io, accept_loop(impl_, listener), asio::detached);
  return bound;
}

void L4Proxy::close(const std::string& name) {
  auto it = impl_->listeners.find(name);
  if (it == impl_->listeners.end()) {
    return;
  }
  auto listener = it->second;
  impl_->listeners.erase(it);
  // Close on the data-plane thread, which owns the acceptor's pending accept. Established
  // connections are left to finish.
  asio::post(impl_->io, [listener]() {
    boost::system::error_code ignored;
    listener->acceptor.close(ignored);
  });
}

bool L4Proxy::is_open(const std::string& name) const { return impl_->listeners.contains(name); }

std::string L4Proxy::address(const std::string& name) const {
  auto it = impl_->listeners.find(name);
  return it == impl_->listeners.end() ? std::string() : it->second->address;
}

void L4Proxy::publish(std::shared_ptr<const L4Snapshot> snapshot) {
  asio::post(impl_->io, [impl = impl_, snapshot = std::move(snapshot)]() mutable {
    impl->snapshot = std::move(snapshot);
  });
}

std::map<std::string, std::shared_ptr<ListenerStats>> L4Proxy::stats() const {
  std::lock_guard lock(impl_->stats_mutex);
  return impl_->stats;
}

}  // namespace prisn::proxy
