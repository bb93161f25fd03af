// SPDX-License-Identifier: MIT
// Between an HTTP/2 stream's header blocks and the HTTP/1.1 messages instances speak
// (private to prisn_proxy), sans-IO: RFC 9113 §8.2 and §8.3.
#pragma once

#include <boost/beast/http/message.hpp>
#include <string>
#include <vector>

#include "proxy/hpack.hpp"

namespace prisn::proxy::detail::h2 {

namespace http = boost::beast::http;

/// Builds the HTTP/1.1 request header from a request's header block: :method, :path,
/// :authority as Host, the fields, cookies joined into one (§8.2.3). Returns why the block
/// is malformed (§8.1.1: the client gets 400), or "" when `out` holds the request. A block
/// whose values hold CR, LF or NUL is malformed: relayed into HTTP/1.1, they would let a
/// client write headers, or whole requests, of its own to the instance.
std::string to_http1(const std::vector<hpack::Header>& block, http::request_header<>& out);

/// Encodes a response header for HTTP/2: :status, then the fields with lower-case names,
/// Transfer-Encoding left out (§8.2.2). Strips the hop-by-hop fields from `res` first, in
/// place (a copy of every answer's header would cost more than the encoding).
void to_block(http::response_header<>& res, std::string& block);

}  // namespace prisn::proxy::detail::h2
