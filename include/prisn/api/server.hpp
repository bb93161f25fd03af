// SPDX-License-Identifier: MIT
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "prisn/config/config.hpp"
#include "prisn/control/controller.hpp"
#include "prisn/network/subnet.hpp"

namespace prisn::api {

struct ServerOptions {
  config::ApiAuth auth = config::ApiAuth::kLoopback;
  std::size_t body_limit = 8 * 1024 * 1024;
  std::string admin_token;  ///< accepted as "Authorization: Bearer <token>"
  /// Peers here are trusted as loopback is: bridge mode's instances, which in host mode would
  /// reach the API on loopback.
  std::vector<network::Subnet> local_networks;
};

/// The REST API (SPEC §4) over HTTP/1.1 with keep-alive, on Boost.Beast. Requests from a
/// local peer (loopback, or one of `local_networks`) are trusted unless auth is `required`;
/// every other peer needs the bearer token. Bodies over the limit get 413; malformed ones 400; nothing a client sends can
/// bring the daemon down: a handler's escaping exception becomes a 500 for that request.
/// Thread: control thread (the io_context given).
class Server {
 public:
  Server(boost::asio::io_context& io, control::Controller& controller, ServerOptions options);
  ~Server();

  /// Binds and starts accepting; returns the bound address ("127.0.0.1:43121").
  Result<std::string> listen(const config::ListenAddress& address);
  /// Stops accepting and closes every connection but those sending a followed log or events:
  /// they go on until end_streams().
  void stop();
  /// Ends the followed logs and event streams properly, each after what is left of it, and
  /// closes their connections (after at most 2 s); then calls `done`. For a graceful
  /// shutdown, once prisnd's processes have stopped, so followers get their last lines.
  void end_streams(std::function<void()> done);
  /// A reload's auth mode, body limit and admin token, for the requests read from now on.
  void reconfigure(config::ApiAuth auth, std::size_t body_limit, std::string admin_token);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace prisn::api
