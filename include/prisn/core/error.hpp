// SPDX-License-Identifier: MIT
#pragma once

#include <boost/system/result.hpp>
#include <string>
#include <utility>

namespace prisn {

/// What went wrong, in the terms the REST API reports (SPEC §4). Modules return it by value;
/// the API maps `kind` to the HTTP status and `code`.
struct Error {
  enum class Kind {
    kBadRequest,    ///< 400 malformed body
    kUnauthorized,  ///< 401
    kForbidden,     ///< 403
    kNotFound,      ///< 404
    kConflict,      ///< 409
    kTooLarge,      ///< 413
    kInvalid,       ///< 422 invalid or missing field
    kUnavailable,   ///< 503
    kInternal,      ///< 500: a bug or an environment failure, never bad input
  };
  Kind kind = Kind::kInternal;
  std::string message;

  static Error bad_request(std::string m) { return {Kind::kBadRequest, std::move(m)}; }
  static Error not_found(std::string m) { return {Kind::kNotFound, std::move(m)}; }
  static Error conflict(std::string m) { return {Kind::kConflict, std::move(m)}; }
  static Error invalid(std::string m) { return {Kind::kInvalid, std::move(m)}; }
  static Error internal(std::string m) { return {Kind::kInternal, std::move(m)}; }
  static Error unavailable(std::string m) { return {Kind::kUnavailable, std::move(m)}; }
};

/// HTTP status code for an error kind.
int http_status(Error::Kind kind);
/// Stable machine-readable code ("not_found", "invalid", ...).
const char* error_code(Error::Kind kind);

/// Called by Result<T>::value() on an error (found by ADL): a caller that did not check the
/// result hit a bug, so this throws std::runtime_error with the message.
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

/// Every fallible call outside the I/O edge returns Result<T>.
template <class T>
using Result = boost::system::result<T, Error>;

/// Builds an error result without ambiguity when T is constructible from Error.
inline boost::system::result<void, Error> ok() { return {}; }

}  // namespace prisn
