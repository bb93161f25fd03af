// SPDX-License-Identifier: MIT
// The HTTP side of the REST API: the only Beast code in prisnd's API. Each connection is one
// coroutine that reads a request, hands it to the router and writes the answer.
#include "prisn/api/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <fmt/format.h>
#include <functional>
#include <map>

#include "api/handlers.hpp"
#include "api/refusal_log.hpp"
#include "api/router.hpp"
#include "prisn/core/ascii.hpp"
#include "prisn/core/accept_retry.hpp"
#include "prisn/core/log.hpp"

namespace prisn::api {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr auto kIdleTimeout = std::chrono::seconds(60);
constexpr std::size_t kHeaderLimit = 64 * 1024;

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::io_context& io, control::Controller& ctl, ServerOptions o)
      : io(io), controller(ctl), options(std::move(o)) {}

  asio::io_context& io;
  control::Controller& controller;
  ServerOptions options;
  Router router;
  std::unique_ptr<tcp::acceptor> acceptor;
  struct Session {
    tcp::socket* socket;
    bool streaming = false;  // sending a followed log or the event stream
  };
  std::map<std::uint64_t, Session> sessions;  // for stop() and end_streams()
  std::uint64_t next_session = 0;
  bool stopping = false;
  bool ending_streams = false;
  asio::steady_timer streams_end{io, asio::steady_timer::time_point::max()};  // cancelled by end_streams()
  std::shared_ptr<spdlog::logger> log = logger("api");
  RefusalLog refusals;
};

namespace {

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool is_local(const tcp::endpoint& ep, const std::vector<network::Subnet>& local_networks) {
  auto a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  if (a.is_loopback()) return true;
  return a.is_v4() && std::ranges::any_of(local_networks, [v4 = a.to_v4().to_uint()](const network::Subnet& net) {
           return net.contains(v4);
         });
}

// A local peer is trusted for where it is, and a browser page on the node is a local peer
// too: a "simple" cross-site POST (text/plain, no preflight) would run code as prisnd's user.
// Browsers mark a page's requests: Origin on every POST, Sec-Fetch-Site on every request
// (`none` only when the user typed the address), which also covers a page that rebinds its
// own name to 127.0.0.1 to read answers. Clients (curl, requests, the CLI) send neither.
// Why the request is a page's, or nullopt.
std::optional<std::string> sent_by_a_page(const Request& req) {
  if (req.origin.empty() && (req.fetch_site.empty() || req.fetch_site == "none")) return std::nullopt;
  return fmt::format("a request from a web page (Origin: {}) is not trusted for coming from this node; send "
                     "'Authorization: Bearer <token>'",
                     req.origin.empty() ? "-, Sec-Fetch-Site: " + req.fetch_site : req.origin);
}

// Why a request is refused before it is served: the response's status, code and message, and a
// short reason for prisnd's log.
struct Refusal {
  int status;
  std::string code;
  std::string message;
  std::string reason;
};

// Authorization per SPEC §4: a local peer is trusted unless auth is required (and unless a
// browser page sent the request); otherwise the admin token as a bearer token. A token that
// is sent is checked, from any peer: a wrong one is a 401, not ignored. /health stays open
// for liveness probes.
std::optional<Refusal> why_refused(const Server::Impl& impl, const Request& req, std::string_view header) {
  if (req.path == "/health") return std::nullopt;
  if (header.empty() && req.local_peer && impl.options.auth == config::ApiAuth::kLoopback) {
    if (auto why = sent_by_a_page(req)) {
      return Refusal{403, "forbidden", *why, fmt::format("a web page's request (Origin: {})", req.origin.empty() ? "-" : req.origin)};
    }
    return std::nullopt;
  }
  if (header.empty()) {
    return Refusal{401, "unauthorized",
                   "authentication required: send 'Authorization: Bearer <token>' (the admin token is in "
                   "DATA_DIR/admin.token)",
                   "no token"};
  }
  // The scheme's name is case-insensitive (RFC 9110 11.1): "bearer" is Bearer too.
  constexpr std::string_view kBearer = "bearer ";
  const bool bearer = header.size() > kBearer.size() && ascii_iequals(header.substr(0, kBearer.size()), kBearer);
  if (!bearer || impl.options.admin_token.empty() ||
      !constant_time_equal(header.substr(kBearer.size()), impl.options.admin_token)) {
    return Refusal{401, "unauthorized", "invalid token", bearer ? "invalid token" : "not a bearer token"};
  }
  return std::nullopt;
}

Response handle(Server::Impl& impl, const Request& req, std::string_view authorization) {
  if (auto refusal = why_refused(impl, req, authorization)) {
    if (auto line = impl.refusals.refused(req.peer, req.method, req.path, refusal->status, refusal->reason,
                                          std::chrono::steady_clock::now())) {
      impl.log->warn("{}", *line);
    }
    auto r = error(refusal->status, refusal->code, refusal->message);
    if (refusal->status == 401) {
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"prisn\"");  // the scheme to use (RFC 9110 15.5.2)
    }
    return r;
  }
  try {
    return impl.router.dispatch(req);
  } catch (const std::exception& e) {
    // A bug, not bad input: answer this request and keep serving.
    impl.log->error("{} {}: unexpected failure: {}", req.method, req.path, e.what());
    return error(500, "internal", "internal error while handling the request");
  }
}

http::response<http::string_body> to_beast(const Response& r, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "prisnd");
  if (!r.body.empty() || r.status != 204) res.set(http::field::content_type, r.content_type);
  for (const auto& [k, v] : r.headers) res.set(k, v);
  res.body() = r.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

asio::awaitable<void> wait_for_peer_close(tcp::socket& socket) {
  char byte = 0;
  co_await socket.async_read_some(asio::buffer(&byte, 1), kNoThrow);
}

asio::awaitable<void> wait_for_end_of_streams(Server::Impl& impl) {
  if (!impl.ending_streams) co_await impl.streams_end.async_wait(kNoThrow);
}

// Streams a LogStream as a chunked body until it ends, the client goes away or the server
// ends its streams; then the stream sends what is left and the body ends properly.
asio::awaitable<bool> write_stream(Server::Impl& impl, beast::tcp_stream& stream, const Response& r, unsigned version) {
  http::response<http::empty_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "prisnd");
  res.set(http::field::content_type, r.content_type);
  for (const auto& [k, v] : r.headers) res.set(k, v);
  // An HTTP/1.0 client knows no chunked encoding (RFC 9112 §6.1): it gets the bytes as they
  // come and the close as the end, without the trailer.
  const bool chunked = version >= 11;
  const std::string trailer = chunked ? r.stream->trailer_name() : "";
  if (!trailer.empty()) res.set(http::field::trailer, trailer);
  res.chunked(chunked);
  res.keep_alive(chunked);
  http::response_serializer<http::empty_body> sr{res};
  stream.expires_never();
  if (auto [ec, n] = co_await http::async_write_header(stream, sr, kNoThrow); ec) co_return false;
  for (bool finishing = false;;) {
    std::optional<std::string> chunk;
    if (finishing) {
      chunk = co_await r.stream->next();  // no longer waits
    } else {
      auto next = co_await (r.stream->next() || wait_for_peer_close(stream.socket()) || wait_for_end_of_streams(impl));
      if (next.index() == 1) co_return false;  // the client hung up
      if (next.index() == 2) {
        r.stream->finish();
        finishing = true;
        continue;
      }
      chunk = std::get<0>(std::move(next));
    }
    if (!chunk) break;
    if (chunk->empty()) continue;
    auto [ec, n] = chunked ? co_await asio::async_write(stream.socket(), http::make_chunk(asio::buffer(*chunk)), kNoThrow)
                           : co_await asio::async_write(stream.socket(), asio::buffer(*chunk), kNoThrow);
    if (ec) co_return false;
  }
  if (!chunked) co_return false;  // the close ends the body
  http::fields trailers;
  if (!trailer.empty()) trailers.set(trailer, r.stream->trailer_value());
  auto [ec, n] = co_await asio::async_write(stream.socket(), http::make_chunk_last(trailers), kNoThrow);
  co_return !ec;
}

asio::awaitable<bool> write_response(beast::tcp_stream& stream, const Response& r, unsigned version, bool keep_alive,
                                     bool head = false) {
  auto res = to_beast(r, version, keep_alive);
  stream.expires_after(kIdleTimeout);
  if (head) {  // the GET's header, Content-Length included, without its body
    http::response_serializer<http::string_body> sr{res};
    auto [ec, n] = co_await http::async_write_header(stream, sr, kNoThrow);
    co_return !ec && keep_alive;
  }
  auto [ec, n] = co_await http::async_write(stream, res, kNoThrow);
  co_return !ec && keep_alive;
}

// A target with a broken %-escape is a 400: dropping the rest of its query would, say, act on
// the default namespace instead of the one asked for.
Result<Request> to_request(const http::request<http::string_body>& msg, bool local, const std::string& peer) {
  Request req;
  req.method = std::string(msg.method_string());
  std::string_view target = msg.target();
  // The absolute form ("GET http://host/health"), which servers must accept (RFC 9112 §3.2.2):
  // the path and query are what follows the authority.
  std::string origin;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() && ascii_iequals(target.substr(0, scheme.size()), scheme)) {
      const auto end = target.find_first_of("/?", scheme.size());
      if (end == std::string_view::npos) origin = "/";
      else origin = (target[end] == '?' ? "/" : "") + std::string(target.substr(end));
      target = origin;
    }
  }
  const auto q = target.find('?');
  auto path = url_decode(target.substr(0, q), false);
  if (!path) return Error::bad_request("malformed request target: a '%' in the path starts no %XX escape");
  req.path = std::move(*path);
  if (q != std::string_view::npos && !parse_query(target.substr(q + 1), req.query)) {
    return Error::bad_request("malformed query string: a '%' starts no %XX escape");
  }
  req.body = msg.body();
  req.content_type = std::string(msg[http::field::content_type]);
  req.local_peer = local;
  req.peer = peer;
  req.origin = std::string(msg[http::field::origin]);
  req.fetch_site = std::string(msg["Sec-Fetch-Site"]);
  return req;
}

asio::awaitable<void> session(std::shared_ptr<Server::Impl> impl, tcp::socket socket) {
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  const bool local = is_local(remote, impl->options.local_networks);
  const std::string peer = ec ? "?" : remote.address().to_string();
  beast::tcp_stream stream(std::move(socket));
  const auto id = impl->next_session++;
  impl->sessions[id] = {&stream.socket()};
  beast::flat_buffer buffer;
  for (bool keep_going = true; keep_going && !impl->stopping;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(impl->options.body_limit);
    stream.expires_after(kIdleTimeout);
    auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, kNoThrow);
    if (hec == http::error::body_limit) {  // Content-Length alone is over the limit
      co_await write_response(stream, error(413, "too_large", fmt::format("request body is larger than the {} byte limit",
                                                                          impl->options.body_limit)), 11, false);
      break;
    }
    if (hec) {
      if (hec != http::error::end_of_stream && hec != beast::error::timeout && hec != asio::error::operation_aborted &&
          hec != asio::error::connection_reset && hec != asio::error::eof) {
        co_await write_response(stream, error(400, "bad_request", "malformed HTTP request: " + hec.message()), 11, false);
      }
      break;
    }
    const auto& head = parser.get();
    // A Transfer-Encoding whose last coding is not chunked leaves the body's length unknown
    // (RFC 9112 §6.3), and HTTP/1.0 has no Transfer-Encoding (§6.1): taken as empty, the body
    // would be read as the next request. 400, and the connection closes, as the router does.
    if (head.count(http::field::transfer_encoding) > 0 && (!parser.chunked() || head.version() < 11)) {
      co_await write_response(stream, error(400, "bad_request", "malformed request: Transfer-Encoding must end with "
                                                                "chunked, and HTTP/1.0 has none"), head.version(), false);
      break;
    }
    if (parser.content_length() && *parser.content_length() > impl->options.body_limit) {
      co_await write_response(stream, error(413, "too_large", fmt::format("request body is larger than the {} byte limit",
                                                                          impl->options.body_limit)), head.version(), false);
      break;
    }
    if (ascii_iequals(head[http::field::expect], "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, head.version()};
      co_await http::async_write(stream, cont, kNoThrow);
    }
    auto [bec, bn] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    if (bec) {
      if (bec == http::error::body_limit) {
        co_await write_response(stream, error(413, "too_large", fmt::format("request body is larger than the {} byte limit",
                                                                            impl->options.body_limit)), head.version(), false);
      } else if (bec != beast::error::timeout && bec != asio::error::operation_aborted) {
        co_await write_response(stream, error(400, "bad_request", "malformed HTTP request: " + bec.message()), head.version(), false);
      }
      break;
    }
    const auto& msg = parser.get();
    const auto parsed = to_request(msg, local, peer);
    if (!parsed) {
      keep_going = co_await write_response(stream, error(400, "bad_request", parsed.error().message), msg.version(),
                                           msg.keep_alive());
      continue;
    }
    const Request& req = *parsed;
    Response resp = handle(*impl, req, msg[http::field::authorization]);
    if (resp.deferred) {
      auto deferred = std::move(resp.deferred);
      try {
        resp = co_await deferred();
      } catch (const std::exception& e) {
        impl->log->error("{} {}: unexpected failure: {}", req.method, req.path, e.what());
        resp = error(500, "internal", "internal error while handling the request");
      }
    }
    const bool head_only = msg.method() == http::verb::head;
    if (resp.stream && !head_only) {
      impl->sessions[id].streaming = true;
      keep_going = co_await write_stream(*impl, stream, resp, msg.version()) && msg.keep_alive();
      impl->sessions[id].streaming = false;
    } else {
      keep_going = co_await write_response(stream, resp, msg.version(), msg.keep_alive(), head_only);
    }
  }
  impl->sessions.erase(id);
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream.socket().close(ec);
}

asio::awaitable<void> accept_loop(std::shared_ptr<Server::Impl> impl) {
  while (impl->acceptor && impl->acceptor->is_open()) {
    auto [ec, socket] = co_await impl->acceptor->async_accept(kNoThrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || impl->stopping) co_return;
      asio::steady_timer pause(impl->io, kAcceptRetryPause);  // out of descriptors, say: not a spin
      co_await pause.async_wait(kNoThrow);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(impl->io, session(impl, std::move(socket)), [impl](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        impl->log->error("connection ended by an unexpected failure: {}", ex.what());
      }
    });
  }
}

}  // namespace

Server::Server(asio::io_context& io, control::Controller& controller, ServerOptions options)
    : impl_(std::make_shared<Impl>(io, controller, std::move(options))) {
  add_routes(impl_->router, controller, io.get_executor());
}

Server::~Server() { stop(); }

Result<std::string> Server::listen(const config::ListenAddress& address) {
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(address.host, ec);
  if (ec) {
    return Error::invalid(fmt::format("'{}' is not an IP address", address.host));
  }
  auto acceptor = std::make_unique<tcp::acceptor>(impl_->io);
  const tcp::endpoint endpoint(ip, address.port);
  if (acceptor->open(endpoint.protocol(), ec); !ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error::unavailable(ec.message());
  }
  const auto bound = acceptor->local_endpoint(ec);
  impl_->acceptor = std::move(acceptor);
  asio::co_spawn(impl_->io, accept_loop(impl_), asio::detached);
  const auto host = bound.address().to_string();
  return bound.address().is_v6() ? fmt::format("[{}]:{}", host, bound.port()) : fmt::format("{}:{}", host, bound.port());
}

void Server::stop() {
  impl_->stopping = true;
  boost::system::error_code ec;
  if (impl_->acceptor) impl_->acceptor->close(ec);
  for (auto& [id, session] : impl_->sessions) {
    if (session.streaming) continue;  // ends in end_streams()
    session.socket->shutdown(tcp::socket::shutdown_both, ec);
    session.socket->close(ec);
  }
}

namespace {

asio::awaitable<void> end_streams_then(std::shared_ptr<Server::Impl> impl, std::function<void()> done) {
  constexpr auto kStreamsEnd = std::chrono::seconds(2);  // a client that reads slowly cannot hold the shutdown
  impl->ending_streams = true;
  impl->streams_end.cancel();
  const auto until = std::chrono::steady_clock::now() + kStreamsEnd;
  asio::steady_timer poll(impl->io);
  while (std::chrono::steady_clock::now() < until &&
         std::ranges::any_of(impl->sessions, [](const auto& s) { return s.second.streaming; })) {
    poll.expires_after(std::chrono::milliseconds(10));
    co_await poll.async_wait(kNoThrow);
  }
  boost::system::error_code ec;
  for (auto& [id, session] : impl->sessions) {
    session.socket->shutdown(tcp::socket::shutdown_both, ec);
    session.socket->close(ec);
  }
  done();
}

}  // namespace

void Server::end_streams(std::function<void()> done) {
  stop();
  asio::co_spawn(impl_->io, end_streams_then(impl_, std::move(done)), asio::detached);
}

void Server::reconfigure(config::ApiAuth auth, std::size_t body_limit, std::string admin_token) {
  impl_->options.auth = auth;
  impl_->options.body_limit = body_limit;
  impl_->options.admin_token = std::move(admin_token);
}

}  // namespace prisn::api
