// SPDX-License-Identifier: MIT
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "api/http_types.hpp"

namespace prisn::api {

using Params = std::map<std::string, std::string>;
using Handler = std::function<Response(const Request&, const Params&)>;

/// An explicit table of "METHOD /path/{param}" routes: no reflective dispatch on names a
/// client sends. A path that matches but with another method gives 405 with Allow.
class Router {
 public:
  void add(const std::string& method, const std::string& pattern, Handler handler);
  Response dispatch(const Request& request) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{name}" = parameter
    Handler handler;
  };
  static bool match(const Route& route, const std::vector<std::string>& segments, Params& params);
  std::vector<Route> routes_;
};

/// "/a/b/" → {"a", "b"}; empty segments are dropped.
std::vector<std::string> split_path(const std::string& path);

}  // namespace prisn::api
