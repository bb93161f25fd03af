// SPDX-License-Identifier: MIT
// Where a request goes before any instance is involved (private to prisn_proxy): the
// checks and answers HTTP/1.1 and HTTP/2 sessions share.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <optional>
#include <string>

#include "prisn/proxy/l7_snapshot.hpp"

namespace prisn::proxy::detail {

namespace http = boost::beast::http;

/// An answer of the router's own.
struct LocalAnswer {
  http::status status;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
  bool close = false;  ///< the connection must end after it (a Host that cannot be trusted)
};

/// A request's route target (which may have no healthy instance), or the answer the router
/// gives itself: 400 for a missing or malformed Host, an ACME HTTP-01 challenge's key
/// authorization, 404 without a route, 403 when a network policy keeps the client out.
struct Decision {
  const L7Target* target = nullptr;
  std::optional<LocalAnswer> answer;
};

/// Decides for `req` from `client_ip` by `snapshot`. An absolute-form target names the host
/// itself and wins over Host (RFC 9112 §3.2.2): `req` gets that Host and the origin-form
/// target, as the instance must see it. `version` is the client's HTTP version (10, 11, 20).
Decision decide(const L7Snapshot& snapshot, http::request_header<>& req, unsigned version, std::string_view client_ip);

/// Counts a local answer of `decision` with `status`: on its target's stats (a policy's 403),
/// else on the snapshot's unrouted ones.
void count_local_answer(const L7Snapshot& snapshot, const Decision& decision);

/// The 503's text when `target` has no healthy instance.
std::string no_instance_text(const L7Target& target);

}  // namespace prisn::proxy::detail
