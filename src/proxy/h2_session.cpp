// SPDX-License-Identifier: MIT
// One HTTP/2 client connection of the L7 router (RFC 9113), over TLS (ALPN h2) or plain TCP
// (prior knowledge, h2c): its streams' requests are routed and relayed to instances over
// HTTP/1.1, each stream on a coroutine of its own, as nginx and HAProxy relay HTTP/2 to
// HTTP/1.1 backends.
//
// Three kinds of coroutine share the connection, all on the worker's thread: the reader
// feeds the client's bytes to the sans-IO ServerConnection and hands each stream its
// events; each stream coroutine writes its frames into the connection's output; the writer
// sends that output. Only the reader and the writer touch the client's socket, so a stream
// may outlive the connection (it ends at its next step, seeing `reset`).
#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/http.hpp>
#include <unordered_map>

#include "prisn/core/ascii.hpp"
#include "prisn/core/log.hpp"
#include "proxy/h2_connection.hpp"
#include "proxy/h2_request.hpp"
#include "proxy/http_rewrite.hpp"
#include "proxy/http_wire.hpp"
#include "proxy/http_worker.hpp"
#include "proxy/message_io.hpp"
#include "proxy/pump.hpp"
#include "proxy/route_decision.hpp"
#include "proxy/tls_stream.hpp"
#include "proxy/upstream_choice.hpp"

namespace prisn::proxy::detail {

namespace {

namespace http = beast::http;
using h2::ErrorCode;
using h2::Event;
using ResponseParser = http::response_parser<http::buffer_body>;

constexpr std::size_t kPiece = 16 * 1024;
constexpr std::size_t kOutputHigh = 1024 * 1024;  // queued output above which streams wait for the writer
// Queued output above which the client is not read until the writer has taken it: a client
// that sends what must be answered (PING, SETTINGS) faster than it reads the answers would
// otherwise grow the queue without end (CVE-2019-9512, -9515). Streams stop at kOutputHigh,
// so only such answers go past it.
constexpr std::size_t kReadPauseAbove = 4 * kOutputHigh;

/// Wakes the coroutines waiting on it: a timer that never expires, cancelled to wake. A
/// waiter checks its condition first and waits without suspending in between, so on one
/// thread no wake-up is missed.
class Signal {
 public:
  explicit Signal(Executor ex) : timer_(ex, Clock::time_point::max()) {}
  Task<> wait() { co_await timer_.async_wait(kNoThrow); }
  void notify() { timer_.cancel(); }

 private:
  asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, Executor> timer_;
};

struct Connection;

// One request stream: what upstream_choice.hpp needs of a session, its request, and the
// request body bytes the reader has handed it and it has not sent on yet.
struct StreamState {
  StreamState(Connection& c, std::uint32_t stream_id);
  ~StreamState();
  StreamState(const StreamState&) = delete;
  StreamState& operator=(const StreamState&) = delete;

  Worker& w;
  std::uint32_t id;
  Deadline deadline;  // the instance side; the client side is the connection's
  std::vector<Balancer::Candidate> candidates;
  std::vector<bool> excluded;
  bool retryable = false;
  std::vector<hpack::Header> block;
  bool has_body = false;
  bool chunked = false;  // the body goes to the instance chunked (the client gave no length)
  bool too_large = false;
  http::request_header<> req;
  std::string body;        // received, not yet sent to the instance
  bool body_done = false;  // END_STREAM came
  bool reset = false;      // the client reset it, or the connection ended
  Signal wake;             // body bytes, a larger window, a reset
};

struct Connection {
  Connection(std::shared_ptr<Worker> worker, Socket& socket, std::string ip, bool is_tls)
      : owner(std::move(worker)), w(*owner), client_ip(std::move(ip)), tls(is_tls),
        conn(h2::Settings{.header_list_limit = static_cast<std::uint32_t>(w.options.header_limit)}),
        writer_wake(w.io.get_executor()), drained(w.io.get_executor()) {
    deadline.client = &socket;
    w.deadlines.insert(&deadline);
  }
  ~Connection() { w.deadlines.erase(&deadline); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  std::shared_ptr<Worker> owner;
  Worker& w;
  std::string client_ip;
  bool tls;
  h2::ServerConnection conn;
  Deadline deadline;  // the client's: idle, or silent while a stream waits on it
  std::unordered_map<std::uint32_t, std::shared_ptr<StreamState>> streams;
  Signal writer_wake;  // output queued, or the connection ends
  Signal drained;      // the writer took the output
  bool closing = false;  // the reader has ended: the writer sends what is queued, then ends
  bool finish = false;   // no stream is left after a GOAWAY: end once the output is sent
  bool peer_goaway = false;
  bool writing = false;  // the writer is sending: its deadline stands
  std::size_t waiting_on_client = 0;  // streams waiting for body bytes or a window
  bool in_header_block = false;       // the deadline is the header timeout of a block under way

  void kick() { writer_wake.notify(); }

  /// The client's deadline while a stream waits on it (or nothing is open): it must keep
  /// sending for the wait to end.
  void expect_client() {
    if (deadline.at == Clock::time_point::max()) deadline.after(w.options.idle_timeout);
  }
  void refresh_deadline() {
    // A header block under way must end within the header timeout from its first frame, as
    // an HTTP/1.1 request header must (frames trickled slowly do not extend it).
    if (conn.in_header_block()) {
      if (!in_header_block) deadline.after(w.options.header_timeout);
      in_header_block = true;
      return;
    }
    in_header_block = false;
    deadline.idle = streams.empty() && !writing;
    if (writing) expect_client();  // a client that does not read what it asked for is dropped too
    else if (streams.empty() || waiting_on_client > 0) deadline.after(w.options.idle_timeout);
    else deadline.never();
  }
};

StreamState::StreamState(Connection& c, std::uint32_t stream_id)
    : w(c.w), id(stream_id), wake(c.w.io.get_executor()) {
  w.deadlines.insert(&deadline);
}
StreamState::~StreamState() { w.deadlines.erase(&deadline); }

// Waits for the client (body bytes, a window): the connection's deadline bounds it.
Task<> wait_on_client(Connection& c, StreamState& st) {
  ++c.waiting_on_client;
  c.expect_client();
  co_await st.wake.wait();
  --c.waiting_on_client;
}

// Sends `bytes` as DATA as flow control lets it, `last` ending the stream. False when the
// stream was reset meanwhile.
Task<bool> send_body(Connection& c, StreamState& st, std::string_view bytes, bool last) {
  while (!st.reset) {
    if (c.conn.out().size() > kOutputHigh) {
      co_await c.drained.wait();
      continue;
    }
    const std::size_t window = c.conn.send_window(st.id);
    if (bytes.empty() || window > 0) {
      const auto piece = bytes.substr(0, window);
      bytes.remove_prefix(piece.size());
      c.conn.send_data(st.id, piece, last && bytes.empty());
      c.kick();
      if (bytes.empty()) co_return true;
      continue;
    }
    co_await wait_on_client(c, st);
  }
  co_return false;
}

// An answer of the router's own; a HEAD gets its header only. Without `end`, the stream is
// left open for a RST_STREAM to follow.
Task<> answer(Connection& c, StreamState& st, http::status status, std::string_view text, bool head,
              std::string_view content_type = "text/plain; charset=utf-8", bool end = true) {
  std::string block;
  hpack::encode_status(block, static_cast<unsigned>(status));
  hpack::encode(block, "server", "prisn");
  hpack::encode(block, "content-type", content_type);
  hpack::encode(block, "content-length", std::to_string(text.size()));
  const bool header_only = head || text.empty();
  c.conn.send_headers(st.id, block, header_only && end);
  c.kick();
  if (!header_only) co_await send_body(c, st, text, end);
}

// Sends the request header, then its body as the client sends it (chunked when it gave no
// length), then reads the answer's header.
Task<beast::error_code> exchange(Connection& c, StreamState& st, Upstream& up, std::optional<ResponseParser>& rp,
                                 bool head) {
  std::string wire;
  append_header(wire, st.req);
  const auto timeout = c.w.options.idle_timeout;
  if (auto ec = co_await send(up.socket, asio::buffer(wire), st.deadline, timeout)) co_return ec;
  if (st.has_body) {
    const bool chunked = st.chunked;
    std::string piece;
    for (;;) {
      while (st.body.empty() && !st.body_done && !st.reset) co_await wait_on_client(c, st);
      if (st.reset) co_return asio::error::operation_aborted;
      piece.swap(st.body);
      st.body.clear();
      const std::size_t n = piece.size();
      wire.clear();
      if (chunked && n > 0) append_chunk_size(wire, n);
      const auto tail = chunked ? chunk_tail(n > 0, st.body_done) : std::string_view();
      const std::array<asio::const_buffer, 3> parts{asio::buffer(wire), asio::buffer(piece),
                                                    asio::buffer(tail.data(), tail.size())};
      if (auto ec = co_await send(up.socket, parts, st.deadline, timeout)) co_return ec;
      c.conn.consumed(st.id, n);  // the client may send as much more
      c.kick();
      if (st.body_done && st.body.empty()) break;
    }
  }
  co_return co_await read_answer_header(up, rp, head, st.deadline, c.w.options.upstream_timeout);  // a 101 becomes 502
}

// Relays the answer's body as DATA. False when the instance failed or the stream was reset.
Task<bool> relay_response_body(Connection& c, StreamState& st, Upstream& up, ResponseParser& rp, InFlight& flight) {
  const auto buffer = std::make_unique_for_overwrite<char[]>(kPiece);
  while (!rp.is_done()) {
    auto& body = rp.get().body();
    body.data = buffer.get();
    body.size = kPiece;
    beast::error_code ec;
    if (!parse_buffered(rp, up.buffer, ec)) {
      st.deadline.after(c.w.options.idle_timeout);
      const auto rec = co_await read_piece(up.socket, up.buffer, rp);
      ec = rec == http::error::need_buffer ? beast::error_code{} : st.deadline.why(rec);
    }
    if (ec || st.reset) co_return false;
    const bool last = rp.is_done();
    if (last) flight.on(nullptr);
    const std::size_t n = kPiece - body.size;
    if ((n > 0 || last) && !co_await send_body(c, st, std::string_view(buffer.get(), n), last)) co_return false;
  }
  co_return true;
}

// Routes one stream's request, relays it and its answer.
Task<> serve_stream(Connection& c, StreamState& st) {
  Worker& w = c.w;
  const std::string malformed = h2::to_http1(st.block, st.req);
  st.block = {};
  const bool head = st.req.method() == http::verb::head;
  if (st.too_large) co_return co_await answer(c, st, http::status::request_header_fields_too_large,
                                              "request header too large\n", head);
  if (!malformed.empty()) {
    // A stream error (RFC 9113 §8.1.1), after a 400 that says why (which §8.1.1 allows).
    co_await answer(c, st, http::status::bad_request, "malformed request: " + malformed + "\n", head,
                    "text/plain; charset=utf-8", false);
    if (!st.reset) c.conn.reset(st.id, ErrorCode::kProtocol);
    co_return;
  }
  const auto snapshot = w.snapshot;
  auto& req = st.req;
  const Decision decision = decide(*snapshot, req, 20, c.client_ip);
  if (decision.answer) {
    count_local_answer(*snapshot, decision);
    co_return co_await answer(c, st, decision.answer->status, decision.answer->body, head,
                              decision.answer->content_type);
  }
  const L7Target& target = *decision.target;
  InFlight flight(*target.stats);
  if (target.backends.empty()) {
    flight.status = 503;
    co_return co_await answer(c, st, http::status::service_unavailable, no_instance_text(target), head);
  }
  const auto& lb = target.balancer->options();
  const std::string affinity_header(lb.affinity == Affinity::kHeader ? std::string_view(req[lb.header]) : "");
  const std::string cookie(cookie_value(req[http::field::cookie], Balancer::kCookie));
  const Balancer::Request info{c.client_ip, cookie, affinity_header};
  const http::verb method = req.method();
  const bool expect_continue = ascii_iequals(req[http::field::expect], "100-continue");
  prepare_upstream_request(req, ForwardInfo{c.client_ip, c.tls, false});
  if (st.has_body && req.count(http::field::content_length) == 0) {  // HTTP/2 frames it; HTTP/1.1 must be told
    st.chunked = true;
    req.set(http::field::transfer_encoding, "chunked");
  }
  const bool retryable = st.retryable = idempotent(method) && !st.has_body;
  st.excluded.assign(target.backends.size(), false);
  Picked picked;
  std::optional<ResponseParser> rp;
  beast::error_code ec;
  for (int attempt = 0;; ++attempt) {
    list_candidates(st, target);
    const auto choice = choose(st, target, info);
    picked = choice ? pooled(st, target, *choice) : Picked{};
    if (!picked.conn) picked = co_await pick(st, target, info, choice);
    if (st.reset) co_return;
    if (!picked.conn) {
      flight.status = 502;
      const auto why = ec ? fmt::format("upstream error from {}: {}\n", target.label, ec.message())
                          : fmt::format("no instance of {} accepted a connection\n", target.label);
      co_return co_await answer(c, st, http::status::bad_gateway, why, head);
    }
    flight.on(target.backends[picked.index].active);
    if (expect_continue && attempt == 0) {
      std::string block;
      hpack::encode_status(block, 100);
      c.conn.send_headers(st.id, block, false);
      c.kick();
    }
    st.deadline.upstream = &picked.conn->socket;
    ec = co_await exchange(c, st, *picked.conn, rp, head);
    st.deadline.upstream = nullptr;
    if (st.reset) co_return;
    if (!ec) break;
    if (!retryable || attempt >= 2) {
      flight.status = 502;
      co_return co_await answer(c, st, http::status::bad_gateway,
                                fmt::format("upstream error from {} ({}): {}\n", target.label,
                                            target.backends[picked.index].instance, ec.message()),
                                head);
    }
    if (!picked.conn->reused) st.excluded[picked.index] = true;
  }
  auto& res = rp->get();
  flight.status = static_cast<int>(res.result_int());
  if (res.result() == http::status::switching_protocols) {  // nothing asked for it: HTTP/2 has no Upgrade
    flight.status = 502;
    co_return co_await answer(c, st, http::status::bad_gateway, "instance answered 101 without an upgrade\n", head);
  }
  if (picked.set_cookie) {
    res.insert(http::field::set_cookie,
               fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax", Balancer::kCookie,
                           target.balancer->cookie_value(target.backends[picked.index].instance, Balancer::Clock::now()),
                           lb.ttl.count()));
  }
  const bool upstream_keep = res.keep_alive();
  const unsigned code = res.result_int();
  const bool header_only = head || code == 204 || code == 304;
  std::string block;
  h2::to_block(res, block);
  const bool ends_now = header_only || rp->is_done();
  if (ends_now) flight.on(nullptr);
  c.conn.send_headers(st.id, block, ends_now);
  c.kick();
  st.deadline.upstream = &picked.conn->socket;
  const bool relayed = ends_now || co_await relay_response_body(c, st, *picked.conn, *rp, flight);
  st.deadline.upstream = nullptr;
  if (!relayed) {
    if (!st.reset) c.conn.reset(st.id, ErrorCode::kInternal);  // the instance failed mid-answer
    co_return;
  }
  if (upstream_keep && (header_only || rp->is_done())) {
    picked.conn->idle_since = Clock::now();
    w.pool.give(std::move(picked.conn));
  }
}

// Runs one stream to its end, then lets the connection go on without it.
Task<> run_stream(std::shared_ptr<Connection> c, std::shared_ptr<StreamState> st) {
  ++c->w.active_requests;
  co_await serve_stream(*c, *st);
  --c->w.active_requests;
  // The answer is complete: a client still sending a body it needs no more is told to stop
  // (RFC 9113 §8.1: RST_STREAM NO_ERROR after a complete response).
  if (!st->reset && c->conn.stream_open(st->id)) c->conn.reset(st->id, ErrorCode::kNoError);
  // Body bytes it never passed on (an answer of the router's own, a failure, a reset) still
  // count against the connection's window: given back, or later uploads would stall.
  if (!st->body.empty()) c->conn.consumed(st->id, st->body.size());
  st->body.clear();
  c->streams.erase(st->id);
  if (c->w.stopping && !c->conn.going_away()) c->conn.goaway(ErrorCode::kNoError);  // the router is stopping
  if (c->peer_goaway || c->conn.going_away()) {
    if (c->streams.empty()) c->finish = true;
  }
  c->refresh_deadline();
  c->kick();
}

void on_event(const std::shared_ptr<Connection>& c, Event& e) {
  auto it = c->streams.find(e.stream);
  StreamState* st = it == c->streams.end() ? nullptr : it->second.get();
  switch (e.kind) {
    case Event::Kind::kRequest: {
      auto s = std::make_shared<StreamState>(*c, e.stream);
      s->block = std::move(e.headers);
      s->has_body = !e.end_stream;
      s->body_done = e.end_stream;
      s->too_large = e.too_large;
      c->streams[e.stream] = s;
      asio::co_spawn(c->w.io, run_stream(c, s), [](std::exception_ptr ex) {
        if (!ex) return;
        try {
          std::rethrow_exception(ex);
        } catch (const std::exception& failure) {
          logger("proxy")->error("an HTTP/2 stream ended by an unexpected failure: {}", failure.what());
        }
      });
      break;
    }
    case Event::Kind::kData:
      if (st == nullptr) {  // answered already: its bytes count for nothing
        c->conn.consumed(e.stream, e.data.size());
        break;
      }
      st->body += e.data;
      st->body_done = st->body_done || e.end_stream;
      st->wake.notify();
      break;
    case Event::Kind::kReset:
      if (st != nullptr) {
        st->reset = true;
        boost::system::error_code ignored;
        if (st->deadline.upstream) st->deadline.upstream->cancel(ignored);
        st->wake.notify();
      }
      break;
    case Event::Kind::kWindow:
      if (e.stream == 0) {
        for (auto& [id, s] : c->streams) s->wake.notify();
      } else if (st != nullptr) {
        st->wake.notify();
      }
      break;
    case Event::Kind::kGoaway:
      c->peer_goaway = true;
      if (c->streams.empty()) c->finish = true;
      break;
  }
}

// Reads the client's bytes until it closes, breaks the protocol, or the connection ends.
template <class Stream>
Task<> read_loop(Stream& client, std::shared_ptr<Connection> c, std::string early) {
  std::vector<Event> events;
  std::array<char, 16 * 1024> buffer;
  bool ok = c->conn.feed(early, events);
  for (;;) {
    for (auto& e : events) on_event(c, e);
    events.clear();
    c->kick();
    if (!ok || c->finish) break;
    if (c->w.stopping && !c->conn.going_away()) {
      c->conn.goaway(ErrorCode::kNoError);
      if (c->streams.empty()) break;
    }
    while (c->conn.out().size() > kReadPauseAbove && !c->closing) co_await c->drained.wait();
    if (c->closing) break;
    c->refresh_deadline();
    auto [ec, n] = co_await client.async_read_some(asio::buffer(buffer), kNoThrow);
    if (ec) break;
    ok = c->conn.feed(std::string_view(buffer.data(), n), events);
  }
  // Stopping, idle, or the client went: a GOAWAY says no stream past the last one was taken
  // (after a protocol error the connection has queued its own).
  if (ok && !c->conn.going_away()) c->conn.goaway(ErrorCode::kNoError);
  c->deadline.idle = false;
  c->closing = true;
  c->drained.notify();
  for (auto& [id, s] : c->streams) {  // the streams end at their next step
    s->reset = true;
    boost::system::error_code ignored;
    if (s->deadline.upstream) s->deadline.upstream->cancel(ignored);
    s->wake.notify();
  }
  c->kick();
}

// Sends the queued output until the reader has ended and nothing is left; after a GOAWAY
// with no stream left, ends the reader once everything has gone.
template <class Stream>
Task<> write_loop(Stream& client, std::shared_ptr<Connection> c) {
  std::string sending;
  for (;;) {
    if (c->conn.out().empty()) {
      c->drained.notify();
      if (c->closing) break;
      if (c->finish) {
        boost::system::error_code ignored;
        raw_socket(client).cancel(ignored);  // the reader's wait: nothing more is read
        break;
      }
      co_await c->writer_wake.wait();
      continue;
    }
    sending.clear();
    sending.swap(c->conn.out());
    c->writing = true;
    const auto ec = co_await send(client, asio::buffer(sending), c->deadline, c->w.options.idle_timeout);
    c->writing = false;
    c->refresh_deadline();
    if (ec) {
      c->closing = true;
      c->drained.notify();  // no stream waits for a writer that has gone
      boost::system::error_code ignored;
      raw_socket(client).cancel(ignored);
      break;
    }
  }
}

template <class Stream>
Task<> serve_h2_on(std::shared_ptr<Worker> worker, Stream& client, std::string client_ip, bool tls,
                   std::string early) {
  using namespace asio::experimental::awaitable_operators;
  auto c = std::make_shared<Connection>(std::move(worker), raw_socket(client), std::move(client_ip), tls);
  c->deadline.after(c->w.options.header_timeout);
  co_await (read_loop(client, c, std::move(early)) && write_loop(client, c));
}

}  // namespace

Task<> serve_h2(std::shared_ptr<Worker> worker, Socket& client, std::string client_ip, std::string early) {
  return serve_h2_on(std::move(worker), client, std::move(client_ip), false, std::move(early));
}

Task<> serve_h2(std::shared_ptr<Worker> worker, TlsStream& client, std::string client_ip) {
  return serve_h2_on(std::move(worker), client, std::move(client_ip), true, std::string());
}

}  // namespace prisn::proxy::detail
