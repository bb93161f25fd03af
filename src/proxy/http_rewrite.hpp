// SPDX-License-Identifier: MIT
// Header rewriting between client and instance (private to prisn_proxy), sans-IO.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <string>
#include <string_view>

namespace prisn::proxy::detail {

namespace http = boost::beast::http;

struct ForwardInfo {
  std::string client_ip;
  bool tls = false;      ///< X-Forwarded-Proto https
  bool upgrade = false;  ///< keep Upgrade and Connection: upgrade (WebSocket)
};

/// True for `Connection: upgrade` with an `Upgrade` header (WebSocket and friends).
bool is_upgrade(const http::request_header<>& req);

/// Removes hop-by-hop headers (RFC 9110 §7.6.1): Connection and every header it names,
/// Keep-Alive, Proxy-Connection, Proxy-Authenticate, Proxy-Authorization, TE, Trailer and
/// Upgrade. Transfer-Encoding stays: the router re-frames the body the same way.
void strip_hop_by_hop(http::fields& fields);

/// The request as the instance gets it: hop-by-hop headers gone, Expect gone (the router
/// answers 100-continue itself), X-Forwarded-For appended, -Proto and -Host set, HTTP/1.1
/// with keep-alive (or Connection: upgrade).
void prepare_upstream_request(http::request_header<>& req, const ForwardInfo& info);

/// The response as the client gets it: hop-by-hop headers gone, `keep_alive` decided by the
/// router, HTTP version the client's.
void prepare_client_response(http::response_header<>& res, unsigned client_version, bool keep_alive, bool upgrade);

/// The value of cookie `name` in a Cookie header ("a=1; prisn_affinity=api-1.9"), or "".
std::string_view cookie_value(std::string_view cookie_header, std::string_view name);

}  // namespace prisn::proxy::detail
