// SPDX-License-Identifier: MIT
// HTTP/1.x message framing on the wire (private to prisn_proxy), sans-IO.
//
// Written by hand on purpose: Beast's serializer walks a header through nested buffer-sequence
// views, and for the small requests a router mostly relays that walk cost more CPU than
// everything else prisn does per request. Formatting into one reused buffer is a few appends.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <cstddef>
#include <string>
#include <string_view>

namespace prisn::proxy::detail {

namespace http = boost::beast::http;

/// Appends the request line, the fields and the blank line (RFC 9112 §3, §5).
void append_header(std::string& out, const http::request_header<>& req);
/// Appends the status line, the fields and the blank line (RFC 9112 §4, §5). Without a
/// reason phrase of its own the status gets the standard one.
void append_header(std::string& out, const http::response_header<>& res);

/// Appends the size line that opens a chunk of `size` bytes (RFC 9112 §7.1): "1a2b\r\n".
void append_chunk_size(std::string& out, std::size_t size);

/// What follows a piece of a chunked body: the CRLF that ends its chunk when it had data,
/// and the last chunk (no trailers) when it ends the body.
std::string_view chunk_tail(bool had_data, bool last);

/// Removes the empty lines (CRLF or LF) that some clients send before a request line, which a
/// server should ignore (RFC 9112 §2.2), at most `most` bytes of them. Returns how many bytes
/// it removed.
std::size_t drop_leading_empty_lines(boost::beast::flat_buffer& buffer, std::size_t most);

}  // namespace prisn::proxy::detail
