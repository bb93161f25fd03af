// SPDX-License-Identifier: MIT
#include "prisn/proxy/l4_proxy.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <tuple>

#include "prisn/core/accept_retry.hpp"
#include "prisn/core/log.hpp"
#include "proxy/pump.hpp"

namespace prisn::proxy {
namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// One published port: an SO_REUSEPORT acceptor on every worker, so the kernel spreads its
// connections across the workers' threads.
struct Listener {
  explicit Listener(std::string n) : name(std::move(n)) {}
  std::string name;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;  // [i] on workers[i]
  std::string address;
  std::shared_ptr<ListenerStats> stats;
  std::shared_ptr<std::atomic<std::int64_t>> open;  // the proxy's open connections, all listeners
  std::atomic<std::uint64_t> next{0};
};

// A thread with its own io_context and the snapshot it was last handed.
struct L4Worker {
  // One thread per io_context and no socket shared across them: no per-descriptor locks.
  asio::io_context io{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  std::shared_ptr<const L4Snapshot> snapshot = std::make_shared<L4Snapshot>();  // its thread only
  std::thread thread;
};

struct L4Proxy::Impl {
  std::vector<std::unique_ptr<L4Worker>> workers;
  // Control thread only:
  std::map<std::string, std::shared_ptr<Listener>> listeners;
  mutable std::mutex stats_mutex;  // guards the map, not the counters
  std::map<std::string, std::shared_ptr<ListenerStats>> stats;
  // Client connections from accept to close, of every listener, closed ones' too: what a
  // graceful shutdown waits for.
  std::shared_ptr<std::atomic<std::int64_t>> open = std::make_shared<std::atomic<std::int64_t>>(0);
};

namespace {

// As the L7 router's: an instance that drops connection attempts (gone from the network, its
// backlog full) is given up on after this long instead of the kernel's two minutes of SYNs.
constexpr auto kConnectTimeout = std::chrono::seconds(3);

asio::awaitable<std::tuple<boost::system::error_code>> connect_within(tcp::socket& upstream, tcp::endpoint to) {
  asio::steady_timer deadline(upstream.get_executor(), kConnectTimeout);
  // Shared with the timer's handler, which may run after this frame is gone (fired together
  // with the connect's completion): it cancels the socket only while still connecting.
  auto connecting = std::make_shared<bool>(true);
  deadline.async_wait([connecting, &upstream](const boost::system::error_code& ec) {
    boost::system::error_code ignored;
    if (!ec && *connecting) upstream.cancel(ignored);
  });
  auto result = co_await upstream.async_connect(to, kNoThrow);
  *connecting = false;
  deadline.cancel();
  if (std::get<0>(result) == asio::error::operation_aborted) result = {asio::error::timed_out};
  co_return result;
}

asio::awaitable<void> serve(L4Worker& worker, std::shared_ptr<Listener> listener, tcp::socket client) {
  struct Open {
    std::atomic<std::int64_t>& count;
    explicit Open(std::atomic<std::int64_t>& c) : count(c) { count.fetch_add(1, std::memory_order_relaxed); }
    ~Open() { count.fetch_sub(1, std::memory_order_relaxed); }
  } open(*listener->open);
  ListenerStats& stats = *listener->stats;
  stats.connections.fetch_add(1, std::memory_order_relaxed);
  const auto accepted = std::chrono::steady_clock::now();
  const auto snapshot = worker.snapshot;  // one consistent view for this connection
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
      auto [cec] = co_await connect_within(upstream, tcp::endpoint(address, b.port));
      if (!cec) {
        chosen = &b;
        break;
      }
      upstream.close(ec);  // refused or silent: try the next instance before the client sees anything
    }
  }
  if (chosen == nullptr) {
    stats.failed.fetch_add(1, std::memory_order_relaxed);
    boost::system::error_code ignored;
    client.close(ignored);
    co_return;
  }
  stats.connect.record(std::chrono::duration<double>(std::chrono::steady_clock::now() - accepted).count());
  chosen->connections->fetch_add(1, std::memory_order_relaxed);
  stats.active.fetch_add(1, std::memory_order_relaxed);
  boost::system::error_code ignored;
  for (tcp::socket* s : {&client, &upstream}) {
    s->set_option(tcp::no_delay(true), ignored);
    s->non_blocking(true, ignored);  // splice reads and writes at once, waiting only for readiness
  }
  co_await detail::splice(client, upstream);
  chosen->connections->fetch_sub(1, std::memory_order_relaxed);
  stats.active.fetch_sub(1, std::memory_order_relaxed);
}

asio::awaitable<void> accept_loop(L4Worker& worker, std::shared_ptr<Listener> listener, tcp::acceptor& acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
        co_return;
      }
      // EMFILE and friends: keep serving the others, without a spin.
      asio::steady_timer pause(worker.io, kAcceptRetryPause);
      co_await pause.async_wait(kNoThrow);
      continue;
    }
    asio::co_spawn(worker.io, serve(worker, listener, std::move(socket)), asio::detached);
  }
}

// Closes a listener's acceptors, each on its worker's thread, which owns its pending accept,
// and returns once they are closed (or after a second), so that the port is free for the
// next open(). Established connections are left to finish.
void close_acceptors(L4Proxy::Impl& impl, const std::shared_ptr<Listener>& listener) {
  std::vector<std::future<void>> closed;
  for (std::size_t i = 0; i < listener->acceptors.size(); ++i) {
    auto done = std::make_shared<std::promise<void>>();
    closed.push_back(done->get_future());
    asio::post(impl.workers[i]->io, [listener, i, done]() {
      boost::system::error_code ignored;
      listener->acceptors[i]->close(ignored);
      done->set_value();
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  for (auto& c : closed) c.wait_until(deadline);
}

// A node without IPv6 cannot open "::"; its "every address" is then 0.0.0.0.
bool node_has_ipv6() {
  const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

// Whether something already listens on `endpoint`. SO_REUSEPORT lets any socket of the same
// user join a port's group, prisnd's own HTTP router's among them, and the kernel would then
// share the port's connections between the two without a word. A socket bound without it
// fails wherever anything listens on the port (connections in TIME_WAIT or still open after
// their listener closed do not count, as SO_REUSEADDR says).
boost::system::error_code taken(const tcp::endpoint& endpoint) {
  const int fd = ::socket(endpoint.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return {errno, boost::system::system_category()};
  const int on = 1, off = 0;
  int failed = ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (failed == 0 && endpoint.address().is_v6()) failed = ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  if (failed == 0) failed = ::bind(fd, endpoint.data(), static_cast<socklen_t>(endpoint.size()));
  const boost::system::error_code ec(failed == 0 ? 0 : errno, boost::system::system_category());
  ::close(fd);
  return ec;
}

// The address open() binds for `host`, and how messages show it.
Result<std::pair<asio::ip::address, std::string>> listen_address(const std::string& host) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return Error::invalid(fmt::format("'{}' is not an IP address", host));
  if (address == asio::ip::address_v6::any() && !node_has_ipv6()) address = asio::ip::address_v4::any();
  return std::pair{address, address.is_v6() ? fmt::format("[{}]", address.to_string()) : address.to_string()};
}

std::unique_ptr<tcp::acceptor> bind_reuseport(asio::io_context& io, const tcp::endpoint& endpoint,
                                              boost::system::error_code& ec) {
  using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
  auto a = std::make_unique<tcp::acceptor>(io);
  if (a->open(endpoint.protocol(), ec); !ec) a->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a->set_option(reuse_port(true), ec);
  // "::" means every address of the node, IPv4 ones included (as IPv4-mapped), whatever
  // net.ipv6.bindv6only says.
  if (!ec && endpoint.address().is_v6()) a->set_option(asio::ip::v6_only(false), ec);
  if (!ec) a->bind(endpoint, ec);
  if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
  return a;
}

}  // namespace

L4Proxy::L4Proxy(std::size_t workers) : impl_(std::make_shared<Impl>()) {
  for (std::size_t i = 0; i < std::max<std::size_t>(workers, 1); ++i) {
    auto& w = *impl_->workers.emplace_back(std::make_unique<L4Worker>());
    w.thread = std::thread([&w]() {
      auto guard = asio::make_work_guard(w.io);
      w.io.run();
    });
  }
}

L4Proxy::~L4Proxy() {
  for (auto& w : impl_->workers) {
    w->io.stop();
    w->thread.join();
  }
  // Acceptors go while their io_contexts live; then the io_contexts, whose destruction
  // destroys the connections still parked on them.
  for (auto& [name, l] : impl_->listeners) l->acceptors.clear();
  impl_->workers.clear();
}

Result<void> L4Proxy::available(const std::string& host, std::uint16_t port) const {
  auto where = listen_address(host);
  if (!where) return where.error();
  const auto& [address, shown] = *where;
  if (auto in_use = taken(tcp::endpoint(address, port))) {
    return Error::conflict(fmt::format("cannot listen on {}:{}: {}", shown, port, in_use.message()));
  }
  return {};
}

Result<std::uint16_t> L4Proxy::open(const std::string& name, const std::string& host, std::uint16_t port) {
  close(name);
  if (port != 0) {
    if (auto free = available(host, port); !free) return free.error();
  }
  auto where = listen_address(host);
  if (!where) return where.error();
  const auto& [address, shown] = *where;
  boost::system::error_code ec;
  auto listener = std::make_shared<Listener>(name);
  std::uint16_t bound = port;
  for (auto& w : impl_->workers) {
    auto a = bind_reuseport(w->io, tcp::endpoint(address, bound), ec);
    if (ec) return Error::conflict(fmt::format("cannot listen on {}:{}: {}", shown, bound, ec.message()));
    bound = a->local_endpoint(ec).port();  // port 0: every worker takes the one the first got
    listener->acceptors.push_back(std::move(a));
  }
  listener->address = fmt::format("{}:{}", shown, bound);
  listener->open = impl_->open;
  {
    std::lock_guard lock(impl_->stats_mutex);
    auto& stats = impl_->stats[name];
    if (!stats) stats = std::make_shared<ListenerStats>();
    listener->stats = stats;
  }
  impl_->listeners[name] = listener;
  for (std::size_t i = 0; i < impl_->workers.size(); ++i) {
    auto& w = *impl_->workers[i];
    asio::co_spawn(w.io, accept_loop(w, listener, *listener->acceptors[i]), asio::detached);
  }
  return bound;
}

void L4Proxy::close(const std::string& name) {
  auto it = impl_->listeners.find(name);
  if (it == impl_->listeners.end()) {
    return;
  }
  close_acceptors(*impl_, it->second);
  impl_->listeners.erase(it);
  // Its series leave /metrics with it (a connection still open keeps its own reference).
  std::lock_guard lock(impl_->stats_mutex);
  impl_->stats.erase(name);
}

bool L4Proxy::is_open(const std::string& name) const { return impl_->listeners.contains(name); }

std::uint64_t L4Proxy::next_position(const std::string& name) const {
  auto it = impl_->listeners.find(name);
  return it == impl_->listeners.end() ? 0 : it->second->next.load(std::memory_order_relaxed);
}

std::string L4Proxy::address(const std::string& name) const {
  auto it = impl_->listeners.find(name);
  return it == impl_->listeners.end() ? std::string() : it->second->address;
}

void L4Proxy::publish(std::shared_ptr<const L4Snapshot> snapshot) {
  for (auto& w : impl_->workers) {
    asio::post(w->io, [&w = *w, snapshot]() { w.snapshot = snapshot; });
  }
}

std::int64_t L4Proxy::open_connections() const { return impl_->open->load(std::memory_order_relaxed); }

std::map<std::string, std::shared_ptr<ListenerStats>> L4Proxy::stats() const {
  std::lock_guard lock(impl_->stats_mutex);
  return impl_->stats;
}

}  // namespace prisn::proxy
