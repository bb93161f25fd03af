// SPDX-License-Identifier: MIT
#include "proxy/http_rewrite.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <vector>

namespace prisn::proxy::detail {
namespace beast = boost::beast;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The comma-separated tokens of a header value.
std::vector<std::string> tokens(std::string_view value) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= value.size()) {
    const auto comma = std::min(value.find(',', start), value.size());
    const auto token = trim(value.substr(start, comma - start));
    if (!token.empty()) out.emplace_back(token);
    start = comma + 1;
  }
  return out;
}

bool has_token(std::string_view value, std::string_view token) {
  for (const auto& t : tokens(value)) {
    if (beast::iequals(t, token)) return true;
  }
  return false;
}

}  // namespace

bool is_upgrade(const http::request_header<>& req) {
  return req.count(http::field::upgrade) > 0 && has_token(req[http::field::connection], "upgrade");
}

void strip_hop_by_hop(http::fields& fields) {
  for (const auto& name : tokens(fields[http::field::connection])) {
    if (!beast::iequals(name, "transfer-encoding")) fields.erase(name);
  }
  for (auto f : {http::field::connection, http::field::keep_alive, http::field::proxy_connection,
                 http::field::proxy_authenticate, http::field::proxy_authorization, http::field::te,
                 http::field::trailer, http::field::upgrade}) {
    fields.erase(f);
  }
}

void prepare_upstream_request(http::request_header<>& req, const ForwardInfo& info) {
  // Beast has no enumerators for the de-facto X-Forwarded-* headers: they go by name.
  static constexpr std::string_view kFor = "X-Forwarded-For", kProto = "X-Forwarded-Proto", kHost = "X-Forwarded-Host";
  const std::string upgrade(req[http::field::upgrade]);
  strip_hop_by_hop(req);
  req.erase(http::field::expect);
  const std::string xff(req[kFor]);
  req.set(kFor, xff.empty() ? info.client_ip : xff + ", " + info.client_ip);
  req.set(kProto, info.tls ? "https" : "http");
  if (req.count(http::field::host) > 0 && req.count(kHost) == 0) {
    req.set(kHost, req[http::field::host]);
  }
  req.version(11);
  if (info.upgrade && !upgrade.empty()) {
    req.set(http::field::upgrade, upgrade);
    req.set(http::field::connection, "upgrade");
  }
  // HTTP/1.1 without "Connection: close" is kept alive: the pool reuses the connection.
}

void prepare_client_response(http::response_header<>& res, unsigned client_version, bool keep_alive, bool upgrade) {
  const std::string up(res[http::field::upgrade]);
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
