// SPDX-License-Identifier: MIT
#include "prisn/core/error.hpp"

#include <stdexcept>

namespace prisn {

void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw std::runtime_error(e.message);
}

int http_status(Error::Kind kind) {
  switch (kind) {
    case Error::Kind::kBadRequest: return 400;
    case Error::Kind::kUnauthorized: return 401;
    case Error::Kind::kForbidden: return 403;
    case Error::Kind::kNotFound: return 404;
    case Error::Kind::kConflict: return 409;
    case Error::Kind::kTooLarge: return 413;
    case Error::Kind::kInvalid: return 422;
    case Error::Kind::kUnavailable: return 503;
    case Error::Kind::kInternal: return 500;
  }
  return 500;
}

const char* error_code(Error::Kind kind) {
  switch (kind) {
    case Error::Kind::kBadRequest: return "bad_request";
    case Error::Kind::kUnauthorized: return "unauthorized";
    case Error::Kind::kForbidden: return "forbidden";
    case Error::Kind::kNotFound: return "not_found";
    case Error::Kind::kConflict: return "conflict";
    case Error::Kind::kTooLarge: return "too_large";
    case Error::Kind::kInvalid: return "invalid";
    case Error::Kind::kUnavailable: return "unavailable";
    case Error::Kind::kInternal: return "internal";
  }
  return "internal";
}

}  // namespace prisn
