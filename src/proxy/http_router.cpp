// SPDX-License-Identifier: MIT
#include "prisn/proxy/http_router.hpp"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <future>

#include "prisn/core/accept_retry.hpp"
#include "prisn/core/log.hpp"
#include "proxy/http_worker.hpp"

namespace prisn::proxy {

using detail::Worker;
namespace asio = boost::asio;
using asio::ip::tcp;

struct HttpRouter::Impl {
  explicit Impl(HttpRouterOptions o) : options(std::move(o)) {
    const std::size_t n = std::max<std::size_t>(options.workers, 1);
    auto loads = std::make_shared<detail::WorkerLoads>(n);
    for (std::size_t i = 0; i < n; ++i) {
      // One thread per io_context and no socket shared across them: no per-descriptor locks.
      contexts.push_back(std::make_unique<asio::io_context>(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO));
      workers.push_back(std::make_shared<Worker>(*contexts.back(), options, i, loads));
    }
  }
  ~Impl() {
    // Sockets the workers own go while their io_contexts live; then the io_contexts, whose
    // destruction destroys the coroutines still parked on them (and their hold on workers).
    for (auto& w : workers) {
      w->steered.clear();
      w->acceptors.clear();
      w->pool.clear();
      w->sweep.reset();
    }
    contexts.clear();
  }
  HttpRouterOptions options;
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<std::shared_ptr<Worker>> workers;
  bool started = false;
  std::shared_ptr<spdlog::logger> log = logger("proxy");
};

namespace detail {

namespace {

// Whether nothing came on an idle kept-alive connection: no end of stream, no reset, no
// bytes. One non-blocking peek; the instance's FIN is usually there long before the next
// request (a backend that answers and closes, or one that drops idle connections).
bool still_idle(Socket& socket) {
  char byte;
  const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

std::unique_ptr<Upstream> UpstreamPool::take(const std::string& key, bool verify) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  const auto now = std::chrono::steady_clock::now();
  auto& list = it->second;
  while (!list.empty()) {
    auto conn = std::move(list.back());
    list.pop_back();
    if (now - conn->idle_since < kIdleFor && conn->socket.is_open() &&
        (!verify || still_idle(conn->socket))) {
      conn->reused = true;
      return conn;
    }
  }
  return nullptr;
}

void UpstreamPool::give(std::unique_ptr<Upstream> conn) {
  auto& list = idle_[conn->key];
  if (list.size() >= per_key_) list.erase(list.begin());  // the oldest goes
  list.push_back(std::move(conn));
}

void UpstreamPool::close_idle(std::chrono::steady_clock::time_point now) {
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& list = it->second;  // oldest first: give() appends
    const auto fresh = std::find_if(list.begin(), list.end(), [&](const auto& c) { return now - c->idle_since < kIdleFor; });
    list.erase(list.begin(), fresh);
    it = list.empty() ? idle_.erase(it) : std::next(it);
  }
}

void Worker::start_sweep() {
  sweeping = true;
  sweep->expires_after(Deadline::kSweep);
  sweep->async_wait([this](boost::system::error_code ec) {
    if (ec) return;  // the router is going away
    const auto now = Clock::now();
    for (Deadline* d : deadlines) {
      if (d->at > now) continue;
      d->at = Clock::time_point::max();
      d->expired = true;
      boost::system::error_code ignored;
      if (d->client) d->client->cancel(ignored);
      if (d->upstream) d->upstream->cancel(ignored);
    }
    record_load(now);
    if (index == 0) steer_new_connections();
    if (++sweeps % 4 == 0) pool.close_idle(now);  // every second
    start_sweep();
  });
}

void Worker::record_load(Clock::time_point now) {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);  // this worker's own thread: the sweep runs on it
  const std::chrono::nanoseconds cpu = std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
  const auto wall = now - swept_at;
  if (wall.count() > 0) {
    loads->busy[index].store(std::chrono::duration<double>(cpu - cpu_at) / wall, std::memory_order_relaxed);
  }
  swept_at = now;
  cpu_at = cpu;
}

void Worker::steer_new_connections() {
  if (loads->busy.size() < 2) return;
  std::vector<double> busy;
  for (const auto& b : loads->busy) busy.push_back(b.load(std::memory_order_relaxed));
  const bool was = steering.spreading();
  if (steering.spread(busy) == was) return;
  // Each listening address is a reuseport group of one socket per worker; the first
  // worker's socket stands for its group.
  for (auto* a : steered) {
    if (a->is_open()) (void)steer_reuseport_group(a->native_handle(), steering.spreading());
  }
}

}  // namespace detail

namespace {

void log_escaped(const std::shared_ptr<spdlog::logger>& log, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log->error("an HTTP connection ended by an unexpected failure: {}", ex.what());
  }
}

detail::Task<> accept_loop(std::shared_ptr<Worker> w, detail::Acceptor* acceptor, std::shared_ptr<TlsStore> tls,
                           std::shared_ptr<spdlog::logger> log) {
  using detail::kNoThrow;
  tcp::endpoint peer;  // from accept() itself: a getpeername() less per connection
  while (acceptor->is_open() && !w->stopping) {
    auto [ec, socket] = co_await acceptor->async_accept(peer, kNoThrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || w->stopping) co_return;
      // EMFILE and friends: keep serving the connections we have, without a spin.
      asio::steady_timer pause(w->io, kAcceptRetryPause);
      co_await pause.async_wait(kNoThrow);
      continue;
    }
    auto done = [log](std::exception_ptr e) { log_escaped(log, e); };
    if (tls) {
      asio::co_spawn(w->io, detail::serve_tls(w, std::move(socket), peer, tls), done);
    } else {
      asio::co_spawn(w->io, detail::serve_plain(w, std::move(socket), peer), done);
    }
  }
}

Result<std::unique_ptr<detail::Acceptor>> bind_reuseport(asio::io_context& io, const tcp::endpoint& ep) {
  using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
  auto a = std::make_unique<detail::Acceptor>(io.get_executor());
  boost::system::error_code ec;
  if (a->open(ep.protocol(), ec); !ec) a->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a->set_option(reuse_port(true), ec);  // one listener per worker: the kernel spreads connections
  if (!ec) a->bind(ep, ec);
  if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error::unavailable(ec.message());
  return a;
}

}  // namespace

HttpRouter::HttpRouter(HttpRouterOptions options) : impl_(std::make_shared<Impl>(std::move(options))) {}

HttpRouter::~HttpRouter() { stop(std::chrono::milliseconds(0)); }

Result<std::string> HttpRouter::listen(const std::string& host, std::uint16_t port, std::shared_ptr<TlsStore> tls) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return Error::invalid(fmt::format("'{}' is not an IP address", host));
  std::vector<std::unique_ptr<detail::Acceptor>> bound;
  std::uint16_t actual = port;
  for (auto& w : impl_->workers) {
    auto a = bind_reuseport(w->io, tcp::endpoint(address, actual));
    if (!a) return a.error();
    actual = (*a)->local_endpoint(ec).port();  // port 0: every worker takes the one the first got
    bound.push_back(std::move(*a));
  }
  // Plain HTTP connections gather on the first worker until it is busy
  // (connection_steering.hpp). TLS connections always spread: a handshake costs about 20
  // times a relayed request's CPU (430 against 22 µs), and a gathered set of kept-alive TLS
  // connections measured 8% fewer requests/s on one worker than spread over two. A kernel without reuseport programs
  // (before Linux 4.5) spreads everything by hash.
  if (bound.size() > 1 && !tls) {
    if (auto attached = detail::steer_reuseport_group(bound.front()->native_handle(), false); !attached) {
      impl_->log->info("L7 router: new connections spread over every worker by hash ({})", attached.error().message);
    } else {
      impl_->workers.front()->steered.push_back(bound.front().get());
    }
  }
  for (std::size_t i = 0; i < bound.size(); ++i) {
    auto& w = impl_->workers[i];
    auto* acceptor = bound[i].get();
    w->acceptors.push_back(std::move(bound[i]));
    asio::co_spawn(w->io, accept_loop(w, acceptor, tls, impl_->log), [log = impl_->log](std::exception_ptr e) {
      log_escaped(log, e);
    });
  }
  return address.is_v6() ? fmt::format("[{}]:{}", address.to_string(), actual)
                         : fmt::format("{}:{}", address.to_string(), actual);
}

void HttpRouter::start() {
  if (impl_->started) return;
  impl_->started = true;
  for (auto& w : impl_->workers) {
    asio::post(w->io, [w]() {
      if (!w->sweeping) w->start_sweep();
    });
    w->thread = std::thread([w]() {
      auto guard = asio::make_work_guard(w->io);
      w->io.run();
    });
  }
}

void HttpRouter::publish(std::shared_ptr<const L7Snapshot> snapshot) {
  for (auto& w : impl_->workers) {
    asio::post(w->io, [w, snapshot]() { w->snapshot = snapshot; });
  }
}

void HttpRouter::stop(std::chrono::milliseconds grace) {
  if (!impl_->started) return;
  impl_->started = false;
  for (auto& w : impl_->workers) {
    asio::post(w->io, [w]() {
      w->stopping = true;
      boost::system::error_code ec;
      for (auto& a : w->acceptors) a->close(ec);
      for (auto* d : w->deadlines) {
        if (d->idle && d->client) d->client->cancel(ec);  // between requests: leave now
      }
      w->pool.clear();
    });
  }
  // Requests in flight finish, for up to `grace`; then the connections told to leave close
  // (an HTTP/2 one once its GOAWAY is sent), for up to half a second more. A connection
  // counts until it is gone, not just until its reader stops: the GOAWAY is written after.
  const auto wait_on_workers = [this](std::chrono::steady_clock::time_point until, auto busy) {
    for (auto& w : impl_->workers) {
      for (;;) {
        auto p = std::make_shared<std::promise<bool>>();
        auto f = p->get_future();
        asio::post(w->io, [w, p, busy]() { p->set_value(busy(*w)); });
        if (f.wait_for(std::chrono::seconds(1)) != std::future_status::ready || !f.get() ||
            std::chrono::steady_clock::now() >= until) {
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  };
  const auto deadline = std::chrono::steady_clock::now() + grace;
  wait_on_workers(deadline, [](const Worker& w) { return w.active_requests > 0; });
  wait_on_workers(std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(500)),
                  [](const Worker& w) { return !w.deadlines.empty(); });
  for (auto& w : impl_->workers) {
    w->io.stop();
    if (w->thread.joinable()) w->thread.join();
  }
}

}  // namespace prisn::proxy
