// SPDX-License-Identifier: MIT
// Writing to a connection within a deadline, at once when the socket takes the bytes, and
// reading HTTP/1.1 bodies in pieces (private to prisn_proxy): for HTTP/1.1 and HTTP/2
// sessions alike.
#pragma once

#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <optional>

#include "proxy/http_worker.hpp"

namespace prisn::proxy::detail {

namespace http = beast::http;

// Writes all of `buffers`, the first `skip` bytes excepted, within `timeout`.
template <class Stream, class Buffers>
Task<beast::error_code> send_rest(Stream& out, const Buffers& buffers, std::size_t skip, Deadline& deadline,
                                  std::chrono::seconds timeout) {
  beast::buffers_suffix<Buffers> rest(buffers);
  rest.consume(skip);
  deadline.after(timeout);
  auto [ec, n] = co_await asio::async_write(out, rest, kNoThrow);
  co_return deadline.why(ec);
}

// Writes what `out` takes at once, without suspending: as far as the socket's send buffer
// takes, which for a small message is all of it. `sent` is what went; would_block means the
// rest must be written asynchronously (send_rest).
template <class Stream, class Buffers>
beast::error_code write_now(Stream& out, const Buffers& buffers, std::size_t& sent) {
  beast::error_code ec;
  sent = asio::write(out, buffers, ec);
  return ec;
}

// Writes all of `buffers` within `timeout`, at once when the socket takes them.
template <class Stream, class Buffers>
Task<beast::error_code> send(Stream& out, const Buffers& buffers, Deadline& deadline, std::chrono::seconds timeout) {
  std::size_t sent = 0;
  auto ec = write_now(out, buffers, sent);
  if (ec == asio::error::would_block) ec = co_await send_rest(out, buffers, sent, deadline, timeout);
  co_return ec;
}

// Feeds the parser the bytes already buffered, without reading: true when it took any or
// found them malformed (`ec`).
template <bool isRequest>
bool parse_buffered(http::parser<isRequest, http::buffer_body>& p, beast::flat_buffer& buffer, beast::error_code& ec) {
  if (buffer.size() == 0) return false;
  const std::size_t used = p.put(buffer.data(), ec);
  buffer.consume(used);
  if (ec == http::error::need_more || ec == http::error::need_buffer) ec = {};
  return used > 0 || ec;
}

// Reads more of a body. One of unknown length (chunked, or until close) may be a stream of
// small pieces (server-sent events, long polls): read_some passes on what has come at once.
// One of known length is read a full piece at a time. A coroutine of its own, called only
// when nothing is buffered: measured on 2026-12-03, awaiting either read inside relay (whose
// frame every message allocates) cost a fifth of the router's requests/s.
template <bool isRequest, class In>
Task<beast::error_code> read_piece(In& in, beast::flat_buffer& buffer, http::parser<isRequest, http::buffer_body>& p) {
  if (p.chunked() || !p.content_length()) {
    auto [ec, n] = co_await http::async_read_some(in, buffer, p, kNoThrow);
    co_return ec;
  }
  auto [ec, n] = co_await http::async_read(in, buffer, p, kNoThrow);
  co_return ec;
}

/// Reads an instance's answer header into a fresh `rp` (its body unlimited: it is streamed),
/// skipping 1xx answers other than 101, within `timeout` each. For a HEAD request the parser
/// expects no body.
template <class Parser>
Task<beast::error_code> read_answer_header(Upstream& up, std::optional<Parser>& rp, bool head, Deadline& deadline,
                                           std::chrono::seconds timeout) {
  for (;;) {
    rp.emplace();
    rp->body_limit(boost::none);
    if (head) rp->skip(true);
    deadline.after(timeout);
    auto [ec, n] = co_await http::async_read_header(up.socket, up.buffer, *rp, kNoThrow);
    if (ec) co_return deadline.why(ec);
    const unsigned code = rp->get().result_int();
    if (code < 100 || code >= 200 || code == 101) co_return beast::error_code{};
  }
}

}  // namespace prisn::proxy::detail
