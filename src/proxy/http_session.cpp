// SPDX-License-Identifier: MIT
// One client connection of the L7 router, over plain TCP or TLS: requests read, routed,
// relayed to an instance and answered.
#include <fmt/format.h>

#include <array>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <optional>

#include "prisn/core/ascii.hpp"
#include "prisn/proxy/tls_store.hpp"
#include "proxy/http_rewrite.hpp"
#include "proxy/http_wire.hpp"
#include "proxy/http_worker.hpp"
#include "proxy/message_io.hpp"
#include "proxy/pump.hpp"
#include "proxy/route_decision.hpp"
#include "proxy/tls_stream.hpp"
#include "proxy/upstream_choice.hpp"

namespace prisn::proxy::detail {

namespace http = beast::http;

boost::system::error_code Deadline::why(boost::system::error_code ec) const {
  return expired && ec == asio::error::operation_aborted ? beast::error::timeout : ec;
}

namespace {

constexpr std::size_t kChunk = 16 * 1024;

using RequestParser = http::request_parser<http::buffer_body>;
using ResponseParser = http::response_parser<http::buffer_body>;

// One client connection's state across its requests: its deadline, and what every request
// reuses rather than allocates — the parsers, body pieces (both ways), the framing written
// around them, the balancer's scratch lists. (Kept out of the coroutine frames, which are
// allocated per call: small frames are recycled, large ones go to malloc every time.)
struct Session {
  Session(Worker& worker, Socket& socket, std::string ip, bool is_tls)
      : w(worker), client_ip(std::move(ip)), tls(is_tls), buffer(worker.options.header_limit + kChunk) {
    deadline.client = &socket;
    w.deadlines.insert(&deadline);
  }
  ~Session() { w.deadlines.erase(&deadline); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Worker& w;
  Deadline deadline;
  std::string client_ip;
  bool tls;
  // The client's bytes read past the current request's header. Bounded: what the parser
  // cannot take in pieces (a chunk-size line or chunk extension without end, endless
  // trailers) fails as malformed at this size instead of growing with every byte.
  beast::flat_buffer buffer;
  std::optional<RequestParser> request;
  std::optional<ResponseParser> response;  // the instance's answer to it
  std::unique_ptr<char[]> body = std::make_unique_for_overwrite<char[]>(kChunk);  // not zeroed: always written first
  std::string wire;
  std::vector<Balancer::Candidate> candidates;
  std::vector<bool> excluded;
  bool retryable = false;  // the current request may be sent again after a failure
  bool read_failed = false;  // the last relay failed reading its message, not writing it
};

// Relays one message — header, then its body in kChunk pieces as they come — from `in` to
// `out`, each read and write bounded by `timeout`, the body framed as the header says
// (chunked, or as is). `header_only` for answers without a body. `read_all` runs once the
// whole message has been read, before its last bytes are written: whoever receives them may
// act at once (send the next request) and must see its effects. Its writes call write_now
// inline rather than send(): a coroutine call costs a frame even when nothing waits.
template <bool isRequest, class In, class Out, class ReadAll>
Task<beast::error_code> relay(In& in, beast::flat_buffer& in_buffer, http::parser<isRequest, http::buffer_body>& p,
                              Out& out, Session& s, std::chrono::seconds timeout, bool header_only,
                              ReadAll read_all) {
  auto& message = p.get();
  const bool chunked = !header_only && message.chunked();
  std::string& wire = s.wire;
  wire.clear();
  append_header(wire, message);
  if (header_only || p.is_done()) {
    read_all();
    if (chunked) wire += chunk_tail(false, true);
    std::size_t sent = 0;
    auto ec = write_now(out, asio::buffer(wire), sent);
    if (ec == asio::error::would_block) ec = co_await send_rest(out, asio::buffer(wire), sent, s.deadline, timeout);
    co_return ec;
  }
  // When body bytes came in with the header, header and body go out in one write (a small
  // message costs one send); otherwise the header goes at once, ahead of a slow body.
  if (in_buffer.size() == 0) {
    if (auto ec = co_await send(out, asio::buffer(wire), s.deadline, timeout)) co_return ec;
    wire.clear();
  }
  while (!p.is_done()) {
    auto& body = message.body();
    body.data = s.body.get();
    body.size = kChunk;
    beast::error_code rec;
    if (!parse_buffered(p, in_buffer, rec)) {  // nothing buffered to go on with: read
      s.deadline.after(timeout);
      const auto ec = co_await read_piece(in, in_buffer, p);
      rec = ec == http::error::need_buffer ? beast::error_code{} : s.deadline.why(ec);
    }
    if (rec) {
      s.read_failed = true;
      co_return rec;
    }
    const std::size_t n = kChunk - body.size;
    const bool last = p.is_done();
    if (last) read_all();
    if (chunked && n > 0) append_chunk_size(wire, n);
    const auto tail = chunked ? chunk_tail(n > 0, last) : std::string_view();
    const std::array<asio::const_buffer, 3> parts{asio::buffer(wire), asio::buffer(s.body.get(), n),
                                                  asio::buffer(tail.data(), tail.size())};
    if (asio::buffer_size(parts) > 0) {
      std::size_t sent = 0;
      auto ec = write_now(out, parts, sent);
      if (ec == asio::error::would_block) ec = co_await send_rest(out, parts, sent, s.deadline, timeout);
      if (ec) co_return ec;
    }
    wire.clear();
  }
  co_return beast::error_code{};
}

// A short plain-text answer of the router's own; true when the connection may go on. The
// answer to a HEAD request has the same header and no body (RFC 9110 §9.3.2).
template <class Stream>
Task<bool> reply(Stream& client, Deadline& deadline, unsigned version, http::status status, std::string body,
                 bool keep_alive, bool head, std::string content_type = "text/plain; charset=utf-8") {
  http::response<http::string_body> res{status, version};
  res.set(http::field::server, "prisn");
  res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  if (head) res.body().clear();  // Content-Length stays the body's
  deadline.after(std::chrono::seconds(10));
  auto [ec, n] = co_await http::async_write(client, res, kNoThrow);
  co_return !ec && keep_alive;
}

// After a 101: whatever each side sent early, then raw bytes both ways until both end.
template <class Stream>
Task<> tunnel(Stream& client, Session& s, Upstream& up) {
  s.deadline.never();
  if (s.buffer.size() > 0) {
    co_await asio::async_write(up.socket, s.buffer.data(), kNoThrow);
    s.buffer.consume(s.buffer.size());
  }
  if (up.buffer.size() > 0) {
    co_await asio::async_write(client, up.buffer.data(), kNoThrow);
    up.buffer.consume(up.buffer.size());
  }
  co_await splice(client, up.socket);
}

// Sends the request (header and body) and reads the answer's header, skipping 1xx answers
// other than 101. A kept-alive connection the instance closed meanwhile fails here.
template <class Stream>
Task<beast::error_code> exchange(Stream& client, Session& s, Upstream& up, bool head) {
  s.read_failed = false;
  if (auto ec = co_await relay(client, s.buffer, *s.request, up.socket, s, s.w.options.idle_timeout, false, [] {})) {
    co_return ec;
  }
  // The loop of read_answer_header, inline: a coroutine call per request costs a frame.
  auto& rp = s.response;
  for (;;) {
    rp.emplace();
    rp->body_limit(boost::none);
    if (head) rp->skip(true);
    s.deadline.after(s.w.options.upstream_timeout);
    auto [ec, n] = co_await http::async_read_header(up.socket, up.buffer, *rp, kNoThrow);
    if (ec) co_return s.deadline.why(ec);
    const unsigned code = rp->get().result_int();
    if (code < 100 || code >= 200 || code == 101) co_return beast::error_code{};
  }
}

// The client's request body could not be read while it was being relayed: the client's
// fault, not the instance's. A malformed body gets 400 and a body that stopped coming 408
// (as nginx answers both); a client that went away gets nothing. The connection closes
// either way: the instance holds part of a request, and the rest of the client's bytes
// cannot be framed.
template <class Stream>
Task<bool> client_body_failed(Stream& client, Session& s, InFlight& flight, unsigned version, beast::error_code ec,
                              bool head) {
  const bool malformed = ec.category() == http::make_error_code(http::error::bad_chunk).category() &&
                         ec != http::error::end_of_stream && ec != http::error::partial_message;
  if (malformed || ec == beast::error::timeout) {
    flight.status = malformed ? 400 : 408;
    const auto why = malformed ? "malformed request body: " + ec.message() + "\n" : std::string("request body timed out\n");
    co_await reply(client, s.deadline, version, malformed ? http::status::bad_request : http::status::request_timeout,
                   why, false, head);
  }
  co_return false;
}

// One request: route, choose, forward, answer. Returns whether the connection goes on.
template <class Stream>
Task<bool> handle(Stream& client, Session& s) {
  Worker& w = s.w;
  RequestParser& parser = *s.request;
  auto& req = parser.get();
  const unsigned version = req.version();
  const bool body_pending = !parser.is_done();
  const bool wants_keep = req.keep_alive();
  const bool keep_if_error = wants_keep && !body_pending;  // an unread body cannot be skipped safely
  const bool head = req.method() == http::verb::head;
  const auto snapshot = w.snapshot;  // one consistent view for the whole request
  const Decision decision = decide(*snapshot, req, version, s.client_ip);
  if (decision.answer) {
    count_local_answer(*snapshot, decision);
    const LocalAnswer& a = *decision.answer;
    co_return co_await reply(client, s.deadline, version, a.status, a.body, keep_if_error && !a.close, head,
                             a.content_type);
  }
  const L7Target& target = *decision.target;
  InFlight flight(*target.stats);
  if (target.backends.empty()) {
    flight.status = 503;
    co_return co_await reply(client, s.deadline, version, http::status::service_unavailable, no_instance_text(target),
                             keep_if_error, head);
  }
  const auto& lb = target.balancer->options();
  const Balancer::Request info{s.client_ip, cookie_value(req[http::field::cookie], Balancer::kCookie),
                               lb.affinity == Affinity::kHeader ? std::string_view(req[lb.header]) : std::string_view()};
  const ForwardInfo forward{s.client_ip, s.tls, is_upgrade(req)};
  const http::verb method = req.method();
  // An HTTP/1.0 client's expectation is ignored: it must get no 1xx (RFC 9110 §10.1.1, §15.2).
  const bool expect_continue = req.version() >= 11 && ascii_iequals(req[http::field::expect], "100-continue");
  prepare_upstream_request(req, forward);
  // "Content-Length: 4, 4", or the field twice with one value (RFC 9110 §8.6): the parser took
  // it as 4; the instance gets it once, as 4.
  if (const auto length = parser.content_length(); length && req.count(http::field::content_length) > 0) {
    req.set(http::field::content_length, std::to_string(*length));
  }
  // An idempotent request without a body that got no answer may go to another instance
  // (or, when a kept-alive connection had gone stale, to the same one on a new connection).
  const bool retryable = s.retryable = idempotent(method) && !body_pending && !forward.upgrade;
  s.excluded.assign(target.backends.size(), false);
  Picked picked;
  beast::error_code ec;
  for (int attempt = 0;; ++attempt) {
    list_candidates(s, target);
    // The common case, a kept-alive connection to the chosen instance, needs no suspension.
    const auto choice = choose(s, target, info);
    picked = choice ? pooled(s, target, *choice) : Picked{};
    if (!picked.conn) picked = co_await pick(s, target, info, choice);
    if (!picked.conn) {
      flight.status = 502;
      const auto why = ec ? fmt::format("upstream error from {}: {}", target.label, ec.message())
                          : fmt::format("no instance of {} accepted a connection", target.label);
      co_return co_await reply(client, s.deadline, version, http::status::bad_gateway, why + "\n",
                               keep_if_error && !ec, head);
    }
    flight.on(target.backends[picked.index].active);
    if (expect_continue && attempt == 0) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      if (co_await send(client, asio::buffer(kContinue.data(), kContinue.size()), s.deadline, w.options.idle_timeout)) {
        co_return false;  // the client is gone or stopped reading
      }
    }
    s.deadline.upstream = &picked.conn->socket;
    ec = co_await exchange(client, s, *picked.conn, method == http::verb::head);
    if (!ec) break;
    s.deadline.upstream = nullptr;
    if (s.read_failed) co_return co_await client_body_failed(client, s, flight, version, ec, head);
    if (!retryable || attempt >= 2) {
      flight.status = 502;
      co_return co_await reply(client, s.deadline, version, http::status::bad_gateway,
                               fmt::format("upstream error from {} ({}): {}\n", target.label,
                                           target.backends[picked.index].instance, ec.message()),
                               false, head);
    }
    if (!picked.conn->reused) s.excluded[picked.index] = true;  // a fresh connection failed: that instance is in trouble
  }
  const L7Backend& backend = target.backends[picked.index];
  auto& rp = s.response;
  auto& res = rp->get();
  flight.status = static_cast<int>(res.result_int());
  if (!forward.upgrade && res.result() == http::status::switching_protocols) {
    // Nothing a client can read may follow a 101 to a request that asked for no upgrade.
    flight.status = 502;
    co_return co_await reply(client, s.deadline, version, http::status::bad_gateway,
                             fmt::format("upstream error from {} ({}): it switched protocols unasked (101)\n",
                                         target.label, target.backends[picked.index].instance),
                             false, head);
  }
  if (forward.upgrade && res.result() == http::status::switching_protocols) {
    prepare_client_response(res, version, true, true);
    s.wire.clear();
    append_header(s.wire, res);
    if (!co_await send(client, asio::buffer(s.wire), s.deadline, w.options.idle_timeout)) {
      co_await tunnel(client, s, *picked.conn);
    }
    s.deadline.upstream = nullptr;
    co_return false;
  }
  const bool upstream_keep = res.keep_alive();
  const unsigned code = res.result_int();
  const bool header_only = method == http::verb::head || code == 204 || code == 304;
  bool keep = wants_keep && !w.stopping;
  const bool ends_with_close = !header_only && !res.chunked() && !rp->content_length();
  if (version == 10 && res.chunked()) {  // HTTP/1.0 has no chunks: the body ends with the connection
    res.chunked(false);
    keep = false;
  } else if (ends_with_close) {
    // An instance that ends its body by closing (HTTP/1.0 servers): chunked for a 1.1
    // client keeps the client's connection alive; a 1.0 client gets the close.
    if (version == 10) keep = false;
    else res.chunked(true);
  }
  if (picked.set_cookie) {
    res.insert(http::field::set_cookie,
               fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax", Balancer::kCookie,
                           target.balancer->cookie_value(backend.instance, Balancer::Clock::now()),
                           lb.ttl.count()));
  }
  prepare_client_response(res, version, keep, false);
  // The instance is done once its answer is read: least-connections must not count it busy
  // while the last bytes reach a client that may already be sending its next request.
  const auto rec = co_await relay(picked.conn->socket, picked.conn->buffer, *rp, client, s, w.options.idle_timeout,
                                  header_only, [&flight] { flight.on(nullptr); });
  s.deadline.upstream = nullptr;
  if (rec) co_return false;
  if (upstream_keep && rp->is_done()) {
    picked.conn->idle_since = Clock::now();
    w.pool.give(std::move(picked.conn));
  }
  co_return keep;
}

// Whether the client began with HTTP/2's connection preface, which the HTTP/1.1 parser
// refused (bad version) without taking it from the buffer: a client with prior knowledge
// that this port speaks HTTP/2 (RFC 9113 §3.3).
bool is_h2_preface(const beast::flat_buffer& buffer) {
  static constexpr std::string_view kLine = "PRI * HTTP/2.0\r\n";
  const auto data = buffer.data();
  return std::string_view(static_cast<const char*>(data.data()), data.size()).starts_with(kLine);
}

// Reads requests from `client` and answers each through the route it matches, until the
// client closes, a timeout passes or an answer cannot be kept alive. True when the client
// began HTTP/2's preface instead (it is in s.buffer).
template <class Stream>
Task<bool> serve(Stream& client, Session& s) {
  Worker& w = s.w;
  for (bool first = true; !w.stopping; first = false) {
    auto& parser = s.request.emplace();
    parser.header_limit(static_cast<std::uint32_t>(w.options.header_limit));
    parser.body_limit(boost::none);  // bodies are streamed, never held
    s.deadline.after(first ? w.options.header_timeout : w.options.idle_timeout);
    s.deadline.idle = true;
    auto [ec, n] = co_await http::async_read_header(client, s.buffer, parser, kNoThrow);
    // Empty lines before the request line are ignored (RFC 9112 §2.2), as many as the header
    // limit would take: parse again after them.
    for (std::size_t dropped = 0, d = 0; ec == http::error::bad_method && dropped < w.options.header_limit &&
                                         (d = drop_leading_empty_lines(s.buffer, w.options.header_limit - dropped)) > 0;
         dropped += d) {
      auto& again = s.request.emplace();
      again.header_limit(static_cast<std::uint32_t>(w.options.header_limit));
      again.body_limit(boost::none);
      std::tie(ec, n) = co_await http::async_read_header(client, s.buffer, again, kNoThrow);
    }
    s.deadline.idle = false;
    // The router's own answers to requests it cannot even route are counted as route "none".
    auto refuse = [&](http::status status, std::string why) -> Task<> {
      if (auto* unrouted = w.snapshot->unrouted.get()) unrouted->record(static_cast<int>(status), 0);
      co_await reply(client, s.deadline, 11, status, std::move(why), false, false);
    };
    if (ec) {
      if (first && ec == http::error::bad_version && is_h2_preface(s.buffer)) co_return true;
      if (ec == http::error::header_limit) {
        // The parser takes the request line first: while it has no target, the line itself is
        // what is too long (RFC 9110 §15.5.15).
        const bool long_target = parser.get().target().empty();
        co_await refuse(long_target ? http::status::uri_too_long : http::status::request_header_fields_too_large,
                        long_target ? "request target too long\n" : "request header too large\n");
      } else if (ec.category() == http::make_error_code(http::error::bad_version).category() &&
                 ec != http::error::end_of_stream && ec != http::error::partial_message) {
        co_await refuse(http::status::bad_request, "malformed request: " + ec.message() + "\n");
      }
      break;
    }
    // A Transfer-Encoding whose last coding is not chunked leaves the body's length unknown
    // (RFC 9112 §6.3): taken as empty, its bytes would be read as the next request.
    if (parser.get().count(http::field::transfer_encoding) > 0 && !parser.chunked()) {
      co_await refuse(http::status::bad_request, "malformed request: Transfer-Encoding must end with chunked\n");
      break;
    }
    ++w.active_requests;
    const bool keep = co_await handle(client, s);
    --w.active_requests;
    if (!keep) break;
  }
  co_return false;
}

std::string peer_ip(Socket& socket, const tcp::endpoint& peer) {
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  return peer.address().to_string();
}

}  // namespace

Task<> serve_plain(std::shared_ptr<Worker> worker, Socket socket, tcp::endpoint peer) {
  boost::system::error_code ec;
  socket.non_blocking(true, ec);  // for write_now()
  Session s(*worker, socket, peer_ip(socket, peer), false);
  if (co_await serve(socket, s)) {
    s.deadline.never();  // the HTTP/2 connection keeps its own
    s.deadline.idle = false;
    const auto read = s.buffer.data();
    std::string early(static_cast<const char*>(read.data()), read.size());
    co_await serve_h2(worker, socket, s.client_ip, std::move(early));
  }
  socket.shutdown(tcp::socket::shutdown_send, ec);
}

Task<> serve_tls(std::shared_ptr<Worker> worker, Socket socket, tcp::endpoint peer, std::shared_ptr<TlsStore> tls) {
  std::string ip = peer_ip(socket, peer);
  TlsStream stream(std::move(socket), tls->context().native_handle());
  Session s(*worker, stream.next_layer(), std::move(ip), true);
  s.deadline.after(worker->options.header_timeout);
  s.deadline.idle = true;
  auto [hec] = co_await stream.async_handshake(kNoThrow);
  if (hec) co_return;  // not TLS, no certificate for the name, or the client gave up
  if (stream.alpn() == "h2") {
    s.deadline.never();  // the HTTP/2 connection keeps its own
    s.deadline.idle = false;
    co_await serve_h2(worker, stream, s.client_ip);
  } else {
    co_await serve(stream, s);  // an HTTP/2 preface without ALPN h2 is not HTTP/1.1 either: it gets 400
  }
  s.deadline.after(std::chrono::seconds(2));
  co_await stream.async_shutdown(kNoThrow);  // close_notify
  boost::system::error_code ignored;
  stream.next_layer().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace prisn::proxy::detail
