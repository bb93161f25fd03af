// SPDX-License-Identifier: MIT
#include "proxy/route_decision.hpp"

#include <fmt/format.h>

#include <string_view>

namespace prisn::proxy::detail {

namespace {

constexpr std::string_view kAcmePrefix = "/.well-known/acme-challenge/";

// Why the request's Host cannot be routed by (RFC 9112 §3.2), or empty when it can.
std::string_view host_problem(const http::request_header<>& req, unsigned version) {
  const auto count = req.count(http::field::host);
  if (count == 0) return version >= 11 ? "missing Host header\n" : "";
  if (count > 1) return "more than one Host header\n";
  return is_valid_authority(req[http::field::host]) ? "" : "invalid Host header\n";
}

}  // namespace

Decision decide(const L7Snapshot& snapshot, http::request_header<>& req, unsigned version) {
  if (const auto authority = absolute_authority(req.target()); !authority.empty()) {
    req.set(http::field::host, std::string(authority));
    req.target(origin_form(req.target()));
  }
  if (const auto bad = host_problem(req, version); !bad.empty()) {
    return {.answer = LocalAnswer{.status = http::status::bad_request, .body = std::string(bad), .close = true}};
  }
  const std::string_view host = req[http::field::host];
  const std::string_view path = request_path(req.target());
  if (path.starts_with(kAcmePrefix)) {
    if (auto it = snapshot.acme_challenges.find(std::string(path.substr(kAcmePrefix.size())));
        it != snapshot.acme_challenges.end()) {
      return {.answer = LocalAnswer{.status = http::status::ok, .body = it->second,
                                    .content_type = "application/octet-stream"}};
    }
  }
  const auto* route = snapshot.routes.match(host, req.target());
  if (route == nullptr) {
    return {.answer = LocalAnswer{.status = http::status::not_found,
                                  .body = fmt::format("no route for {}{}\n", normalise_host(std::string(host)), path)}};
  }
  return {.target = route->get()};
}

std::string no_instance_text(const L7Target& target) {
  return (target.problem.empty() ? fmt::format("no healthy instance of deployment {}/{}", target.ns, target.deployment)
                                 : target.problem) +
         "\n";
}

}  // namespace prisn::proxy::detail
