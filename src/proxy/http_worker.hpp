// SPDX-License-Identifier: MIT
// One worker of the L7 router: its io_context, listeners, snapshot and upstream pool
// (private to prisn_proxy).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <list>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "prisn/proxy/http_router.hpp"

namespace prisn::proxy::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

/// A connection to an instance, with the bytes read past the last response.
struct Upstream {
  explicit Upstream(asio::any_io_executor ex) : stream(ex) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::string key;  ///< "host:port"
  std::chrono::steady_clock::time_point idle_since;
  bool reused = false;  ///< taken from the pool (it may have been closed by the instance meanwhile)
};

/// Kept-alive connections to instances, per worker (no locks). Connections idle for more
/// than 30 s are dropped instead of reused: instances commonly close idle ones after that.
class UpstreamPool {
 public:
  explicit UpstreamPool(std::size_t per_key) : per_key_(per_key) {}
  std::unique_ptr<Upstream> take(const std::string& key);
  void give(std::unique_ptr<Upstream> conn);
  void clear() { idle_.clear(); }

 private:
  std::size_t per_key_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Upstream>>> idle_;
};

class TlsListener;

/// A worker's state. Its io_context is owned by the router, not by the worker: coroutines on
/// it hold the worker, and the io_context must be destroyed (destroying them) first.
struct Worker {
  Worker(asio::io_context& context, const HttpRouterOptions& o)
      : io(context), options(o), pool(o.idle_upstreams_per_instance), rng(std::random_device{}()) {}
  asio::io_context& io;
  HttpRouterOptions options;
  std::shared_ptr<const L7Snapshot> snapshot = std::make_shared<L7Snapshot>();  // this thread only
  UpstreamPool pool;                                                           // this thread only
  std::mt19937_64 rng;                                                         // this thread only
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::set<beast::tcp_stream*> idle_clients;  // waiting between requests: closed at stop
  std::size_t active_requests = 0;
  bool stopping = false;
  std::thread thread;
};

/// Serves one accepted client connection until it closes (plain HTTP).
asio::awaitable<void> serve_plain(std::shared_ptr<Worker> worker, tcp::socket socket);
/// Serves one accepted client connection after a TLS handshake chosen by SNI.
asio::awaitable<void> serve_tls(std::shared_ptr<Worker> worker, tcp::socket socket, std::shared_ptr<TlsStore> tls);

}  // namespace prisn::proxy::detail
