// SPDX-License-Identifier: MIT
#include "api/router.hpp"

namespace prisn::api {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

void Router::add(const std::string& method, const std::string& pattern, Handler handler) {
  routes_.push_back({method, split_path(pattern), std::move(handler)});
}

bool Router::match(const Route& route, const std::vector<std::string>& segments, Params& params) {
  if (route.segments.size() != segments.size()) {
    return false;
  }
  Params found;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto& want = route.segments[i];
    if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
      found[want.substr(1, want.size() - 2)] = segments[i];
    } else if (want != segments[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

Response Router::dispatch(const Request& request) const {
  const auto segments = split_path(request.path);
  std::string allowed;
  for (const auto& route : routes_) {
    Params params;
    if (!match(route, segments, params)) {
      continue;
    }
    // HEAD is GET without the body (RFC 9110 9.3.2); the session leaves the body out.
    if (route.method == request.method || (request.method == "HEAD" && route.method == "GET")) {
      return route.handler(request, params);
    }
    allowed += (allowed.empty() ? "" : ", ") + route.method;
    if (route.method == "GET") allowed += ", HEAD";
  }
  if (!allowed.empty()) {
    auto r = error(405, "method_not_allowed",
                   "method " + request.method + " is not allowed on " + request.path + " (allowed: " + allowed + ")");
    r.headers.emplace_back("Allow", allowed);
    return r;
  }
  return error(404, "not_found", "no such endpoint: " + request.method + " " + request.path);
}

}  // namespace prisn::api
