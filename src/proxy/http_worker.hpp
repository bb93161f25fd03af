// SPDX-License-Identifier: MIT
// One worker of the L7 router: its io_context, listeners, snapshot, upstream pool and the
// deadlines of its connections (private to prisn_proxy).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "prisn/proxy/http_router.hpp"
#include "proxy/connection_steering.hpp"

namespace prisn::proxy::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// The data path names its io_context's executor type rather than any_io_executor: every
// operation would otherwise copy and destroy a type-erased executor, a measurable share of
// a relayed request's CPU.
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
template <class T = void>
using Task = asio::awaitable<T, Executor>;
inline constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable_t<Executor>{});
using Clock = std::chrono::steady_clock;

/// When a connection's current wait must end. Setting one reads the clock and stores it;
/// the worker's sweep (every kSweep) cancels the sockets of the connections past theirs, so
/// the waiting operation ends with operation_aborted and `expired` says it was the
/// deadline. A timer per operation, as beast::tcp_stream arms, costs a timer-queue insert
/// and removal and an allocation on every read and write.
struct Deadline {
  static constexpr auto kSweep = std::chrono::milliseconds(250);
  Clock::time_point at = Clock::time_point::max();
  Socket* client = nullptr;    ///< the connection's own socket (the lowest layer under TLS); none for an HTTP/2 stream
  Socket* upstream = nullptr;  ///< the instance connection it is using, if any
  bool idle = false;           ///< waiting for the next request: closed at once on stop
  bool expired = false;

  void after(std::chrono::seconds timeout) {
    at = Clock::now() + timeout;
    expired = false;
  }
  void never() {
    at = Clock::time_point::max();
    expired = false;
  }
  /// `ec`, or beast::error::timeout when the deadline is what ended the operation.
  boost::system::error_code why(boost::system::error_code ec) const;
};

/// A connection to an instance, with the bytes read past the last response.
struct Upstream {
  explicit Upstream(Executor ex) : socket(ex) {}
  Socket socket;
  beast::flat_buffer buffer;
  std::string key;  ///< L7Backend::address
  Clock::time_point idle_since;
  bool reused = false;  ///< taken from the pool (it may have been closed by the instance meanwhile)
};

/// Kept-alive connections to instances, per worker (no locks). A connection idle for kIdleFor
/// is closed (within a second more): a backend that serves one connection at a time, such as
/// Python's HTTPServer speaking HTTP/1.1, can serve no one else while prisn holds an idle one,
/// not its health check nor its published port. Under load a connection is never idle that
/// long, and a new one to a local instance costs tens of microseconds. (HAProxy purges idle
/// server connections after 5 s; nginx keeps them only when told to.)
class UpstreamPool {
 public:
  explicit UpstreamPool(std::size_t per_key) : per_key_(per_key) {}
  /// An idle connection to `key`, or nullptr. With `verify`, one the instance has closed (or
  /// sent unasked bytes on) meanwhile is dropped first: for a request that cannot be retried
  /// once sent, a stale connection would otherwise mean a 502.
  std::unique_ptr<Upstream> take(const std::string& key, bool verify);
  void give(std::unique_ptr<Upstream> conn);
  /// Closes the connections idle for kIdleFor or longer (the sweep calls it now and then):
  /// an instance that keeps idle connections open forever would keep a thread on each.
  void close_idle(std::chrono::steady_clock::time_point now);
  void clear() { idle_.clear(); }
  static constexpr auto kIdleFor = std::chrono::seconds(2);

 private:
  std::size_t per_key_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Upstream>>> idle_;
};

/// How busy each worker's thread was over its last sweep period, written by each worker for
/// itself and read by the first one, which steers new connections (connection_steering.hpp).
struct WorkerLoads {
  explicit WorkerLoads(std::size_t n) : busy(n) {}
  std::vector<std::atomic<double>> busy;  ///< share of the period the thread spent on the CPU
};

/// A worker's state. Its io_context is owned by the router, not by the worker: coroutines on
/// it hold the worker, and the io_context must be destroyed (destroying them) first.
struct Worker {
  Worker(asio::io_context& context, const HttpRouterOptions& o, std::size_t i, std::shared_ptr<WorkerLoads> l)
      : io(context), options(o), index(i), loads(std::move(l)), pool(o.idle_upstreams_per_instance),
        rng(std::random_device{}()), sweep(std::make_unique<asio::steady_timer>(context)) {}
  asio::io_context& io;
  HttpRouterOptions options;
  std::size_t index;                   ///< 0 for the first worker, which steers new connections
  std::shared_ptr<WorkerLoads> loads;  // shared by every worker
  std::shared_ptr<const L7Snapshot> snapshot = std::make_shared<L7Snapshot>();  // this thread only
  UpstreamPool pool;                                                           // this thread only
  std::mt19937_64 rng;                                                         // this thread only
  std::vector<std::unique_ptr<Acceptor>> acceptors;
  std::vector<Acceptor*> steered;  ///< the first worker's: its listeners whose groups it steers
  std::unordered_set<Deadline*> deadlines;  // one per open client connection
  std::unique_ptr<asio::steady_timer> sweep;  // reset before the io_context goes
  bool sweeping = false;
  std::uint32_t sweeps = 0;  // how many have run: some work is done every so many
  Clock::time_point swept_at = Clock::now();
  std::chrono::nanoseconds cpu_at{0};  ///< the thread's CPU time at swept_at
  SteeringPolicy steering;             // first worker only
  std::size_t active_requests = 0;
  bool stopping = false;
  std::thread thread;

  /// Cancels what waits on each connection past its deadline, records how busy the thread
  /// was, steers new connections (the first worker), then runs again in kSweep.
  void start_sweep();
  void record_load(Clock::time_point now);
  void steer_new_connections();
};

/// Serves one accepted client connection from `peer` until it closes (plain HTTP).
Task<> serve_plain(std::shared_ptr<Worker> worker, Socket socket, tcp::endpoint peer);
/// Serves one accepted client connection from `peer` after a TLS handshake chosen by SNI.
Task<> serve_tls(std::shared_ptr<Worker> worker, Socket socket, tcp::endpoint peer, std::shared_ptr<TlsStore> tls);

class TlsStream;
/// Serves an HTTP/2 connection whose client sent the preface without TLS (h2c with prior
/// knowledge); `early` holds the bytes already read, from the preface on.
Task<> serve_h2(std::shared_ptr<Worker> worker, Socket& client, std::string client_ip, std::string early);
/// Serves an HTTP/2 connection over TLS (ALPN h2), right after the handshake.
Task<> serve_h2(std::shared_ptr<Worker> worker, TlsStream& client, std::string client_ip);

}  // namespace prisn::proxy::detail
