// SPDX-License-Identifier: MIT
#include "proxy/route_decision.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <string_view>

namespace prisn::proxy {

bool SourcePolicy::admits(std::string_view client_ip) const {
  if (client_ip.starts_with("::ffff:")) client_ip.remove_prefix(7);
  in_addr parsed{};
  if (::inet_pton(AF_INET, std::string(client_ip).c_str(), &parsed) != 1) return true;  // IPv6: not an instance
  const std::uint32_t address = ntohl(parsed.s_addr);
  if ((address & mask) != subnet || address == gateway) return true;
  return std::binary_search(allowed.begin(), allowed.end(), address);
}

namespace detail {

namespace {

constexpr std::string_view kAcmePrefix = "/.well-known/acme-challenge/";

// Why the request's Host cannot be routed by (RFC 9112 §3.2), or empty when it can.
std::string_view host_problem(const http::request_header<>& req, unsigned version) {
  const auto count = req.count(http::field::host);
  if (count == 0) return version >= 11 ? "missing Host header\n" : "";
  if (count > 1) return "more than one Host header\n";
  return is_valid_authority(req[http::field::host]) ? "" : "invalid Host header\n";
}

// Why the request target is not one a reverse proxy forwards (RFC 9112 §3.2: origin form,
// "*" for OPTIONS; the absolute form is made origin form before this), or empty.
std::string_view target_problem(const http::request_header<>& req) {
  if (req.method() == http::verb::connect) return "malformed request: CONNECT is not supported\n";
  const std::string_view target = req.target();
  if (target == "*") return req.method() == http::verb::options ? "" : "malformed request: '*' is a target for OPTIONS only\n";
  return target.starts_with('/') ? "" : "malformed request: the request target must be a path (/...)\n";
}

}  // namespace

Decision decide(const L7Snapshot& snapshot, http::request_header<>& req, unsigned version, std::string_view client_ip) {
  if (const auto authority = absolute_authority(req.target()); !authority.empty()) {
    req.set(http::field::host, std::string(authority));
    req.target(origin_form(req.target()));
  }
  for (const auto bad : {target_problem(req), host_problem(req, version)}) {
    if (!bad.empty()) return {.answer = LocalAnswer{.status = http::status::bad_request, .body = std::string(bad), .close = true}};
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
  const L7Target* target = route->get();
  if (target->policy && !target->policy->admits(client_ip)) {
    return {.target = target,
            .answer = LocalAnswer{.status = http::status::forbidden,
                                  .body = fmt::format("a network policy keeps {} from deployment {}/{}\n", client_ip,
                                                      target->ns, target->deployment)}};
  }
  return {.target = target};
}

void count_local_answer(const L7Snapshot& snapshot, const Decision& decision) {
  RouteStats* stats = decision.target != nullptr ? decision.target->stats.get() : snapshot.unrouted.get();
  if (stats != nullptr && decision.answer) stats->record(static_cast<int>(decision.answer->status), 0);
}

std::string no_instance_text(const L7Target& target) {
  return (target.problem.empty() ? fmt::format("no healthy instance of deployment {}/{}", target.ns, target.deployment)
                                 : target.problem) +
         "\n";
}

}  // namespace detail
}  // namespace prisn::proxy
