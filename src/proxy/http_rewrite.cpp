// SPDX-License-Identifier: MIT
#include "proxy/http_rewrite.hpp"

#include <boost/beast/http/field.hpp>
#include <iterator>
#include <string>

#include "prisn/core/ascii.hpp"

namespace prisn::proxy::detail {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when the comma-separated list `value` has `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  std::size_t start = 0;
  while (start <= value.size()) {
    const auto comma = std::min(value.find(',', start), value.size());
    if (ascii_iequals(trim(value.substr(start, comma - start)), token)) return true;
    start = comma + 1;
  }
  return false;
}

bool always_hop_by_hop(http::field f) {
  switch (f) {
    case http::field::connection:
    case http::field::keep_alive:
    case http::field::proxy_connection:
    case http::field::proxy_authenticate:
    case http::field::proxy_authorization:
    case http::field::te:
    case http::field::trailer:
    case http::field::upgrade:
      return true;
    default:
      return false;
  }
}

// Fields a Connection header may not name away (RFC 9110 §7.6.1: they are for every
// recipient): the message framing, which must describe the body that is forwarded (else the
// next hop reads the body as another request: smuggling), and the Host a request is for.
bool end_to_end_always(http::field f) {
  return f == http::field::transfer_encoding || f == http::field::content_length || f == http::field::host;
}

}  // namespace

bool is_upgrade(const http::request_header<>& req) {
  return req.count(http::field::upgrade) > 0 && has_token(req[http::field::connection], "upgrade");
}

void strip_hop_by_hop(http::fields& fields) {
  // One pass over the fields (a request has a handful) rather than a lookup per name. The
  // Connection value is copied first: its field goes in the same pass.
  const std::string connection(fields[http::field::connection]);
  for (auto it = fields.begin(); it != fields.end();) {
    const bool named = !connection.empty() && !end_to_end_always(it->name()) && has_token(connection, it->name_string());
    it = always_hop_by_hop(it->name()) || named ? fields.erase(it) : std::next(it);
  }
}

void prepare_upstream_request(http::request_header<>& req, const ForwardInfo& info) {
  // Beast has no enumerators for the de-facto X-Forwarded-* headers: they go by name.
  static constexpr std::string_view kFor = "X-Forwarded-For", kProto = "X-Forwarded-Proto", kHost = "X-Forwarded-Host";
  const std::string upgrade(info.upgrade ? std::string_view(req[http::field::upgrade]) : std::string_view());
  strip_hop_by_hop(req);
  req.erase(http::field::expect);
  // Repeated lines are one list (RFC 9110 §5.3): every hop they name is kept, in order.
  std::string xff;
  for (auto [it, end] = req.equal_range(kFor); it != end; ++it) {
    if (it->value().empty()) continue;
    xff.append(xff.empty() ? "" : ", ").append(it->value());
  }
  req.set(kFor, xff.empty() ? info.client_ip : xff + ", " + info.client_ip);
  req.set(kProto, info.tls ? "https" : "http");
  // The host the request was routed by, whatever the client claimed: like -Proto, it is
  // prisn's word to the instance (a client-sent one would let anyone spoof it).
  if (req.count(http::field::host) > 0) {
    req.set(kHost, req[http::field::host]);
  } else {
    req.erase(kHost);
  }
  req.version(11);
  if (info.upgrade && !upgrade.empty()) {
    req.set(http::field::upgrade, upgrade);
    req.set(http::field::connection, "upgrade");
  }
  // HTTP/1.1 without "Connection: close" is kept alive: the pool reuses the connection.
}

void prepare_client_response(http::response_header<>& res, unsigned client_version, bool keep_alive, bool upgrade) {
  const std::string up(upgrade ? std::string_view(res[http::field::upgrade]) : std::string_view());
  strip_hop_by_hop(res);
  res.version(client_version == 10 ? 10 : 11);
  if (upgrade) {
    res.set(http::field::upgrade, up);
    res.set(http::field::connection, "upgrade");
    return;
  }
  if (client_version == 10) {
    if (keep_alive) res.set(http::field::connection, "keep-alive");
  } else if (!keep_alive) {
    res.set(http::field::connection, "close");
  }
}

std::string_view cookie_value(std::string_view header, std::string_view name) {
  std::size_t start = 0;
  while (start < header.size()) {
    const auto semi = std::min(header.find(';', start), header.size());
    const auto pair = trim(header.substr(start, semi - start));
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return trim(pair.substr(eq + 1));
    start = semi + 1;
  }
  return {};
}

}  // namespace prisn::proxy::detail
