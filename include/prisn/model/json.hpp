// SPDX-License-Identifier: MIT
#pragma once

#include <nlohmann/json.hpp>
#include <chrono>
#include <string_view>

#include "prisn/core/error.hpp"

namespace prisn::model {

using Json = nlohmann::json;

/// Parses a request body as JSON whatever its Content-Type (SPEC §4). Malformed input is an
/// Error::bad_request with the parser's position; never throws.
Result<Json> parse_json_body(std::string_view body);

/// A duration as the API takes one: text ("30s", "1h30m") or a whole number of seconds, within
/// kLongestDuration. The error message does not name the field.
Result<std::chrono::milliseconds> duration_value(const Json& v);

/// Reads an object's members by name and reports errors with their dotted path. Keys that
/// are never asked for are reported by `finish()` as unknown fields (typos surface instead of
/// being ignored).
class ObjectReader {
 public:
  ObjectReader(const Json& object, std::string path);

  bool has(const char* key) const;
  /// The member, marked as known; nullptr when absent or null.
  const Json* get(const char* key);
  /// Marks keys that are accepted and ignored (e.g. output-only fields sent back by a client).
  void ignore(std::initializer_list<const char*> keys);

  Result<std::string> string(const char* key, std::string fallback = {});
  Result<bool> boolean(const char* key, bool fallback);
  Result<long long> integer(const char* key, long long fallback, long long lo, long long hi);

  /// "path.key" for messages.
  std::string path(const char* key) const;
  /// Error::invalid for the first unknown member, if any.
  Result<void> finish() const;

 private:
  const Json& object_;
  std::string path_;
  std::vector<std::string> known_;
};

}  // namespace prisn::model
