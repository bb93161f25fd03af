// SPDX-License-Identifier: MIT
// Small pieces every group of REST handlers uses.
#pragma once

#include <fmt/format.h>

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
