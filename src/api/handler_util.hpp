// SPDX-License-Identifier: MIT
// Small pieces every group of REST handlers uses.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "api/http_types.hpp"
#include "api/router.hpp"
#include "prisn/core/names.hpp"

namespace prisn::api {

/// The body as JSON; an empty body is a 400.
inline Result<model::Json> body_json(const Request& req) {
  if (req.body.empty()) {
    return Error::bad_request("request body is empty; expected a JSON object");
  }
  return model::parse_json_body(req.body);
}

/// A true/false query parameter as people write it (`true`, `1`, `yes` or `false`, `0`, `no`,
/// any case); absent or empty is `fallback`, anything else a 422 naming it.
inline Result<bool> bool_param(const Request& req, const std::string& name, bool fallback = false) {
  std::string v = req.param(name);
  if (v.empty()) return fallback;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return Error::invalid(fmt::format("{}: expected true or false", name));
}

/// For an action that takes no body (restart, cancel): none, or an empty JSON object. Anything
/// else is refused rather than ignored: a client that sent fields meant something by them.
inline Result<void> no_body(const Request& req, const std::string& hint = {}) {
  if (req.body.empty()) return {};
  auto body = model::parse_json_body(req.body);
  if (!body) return body.error();
  if (body->is_object() && body->empty()) return {};
  if (body->is_object()) {
    return Error::invalid(fmt::format("{}: unknown field: this action takes no body{}", body->begin().key(), hint));
  }
  return Error::invalid("body: this action takes no body" + hint);
}

template <class T>
Response respond(const Result<T>& r, int status = 200) {
  if (!r) return error(r.error());
  return json(status, *r);
}

/// Resource names in paths: an invalid one cannot exist, so it is a 404.
inline Result<void> path_name(const Params& p, const char* what) {
  const auto& name = p.at("name");
  if (!is_valid_name(name)) {
    return Error::not_found(fmt::format("{} '{}' not found (not a valid name)", what, name.substr(0, 80)));
  }
  return {};
}

}  // namespace prisn::api
