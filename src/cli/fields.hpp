// SPDX-License-Identifier: MIT
// Reading fields of API objects for tables.
#pragma once

#include <string>

#include "prisn/core/time.hpp"
#include "prisn/model/json.hpp"

namespace prisn::cli {

/// A field as table text: strings as they are, other values as JSON, `fallback` when absent.
inline std::string str(const model::Json& obj, const char* key, const std::string& fallback = "-") {
  if (!obj.is_object() || !obj.contains(key) || obj[key].is_null()) return fallback;
  if (obj[key].is_string()) {
    const auto& s = obj[key].get_ref<const std::string&>();
    return s.empty() ? fallback : s;
  }
  return obj[key].dump();
}

/// "5m" since the RFC 3339 time in `key`.
inline std::string age(const model::Json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_string()) return "-";
  auto t = parse_rfc3339(obj[key].get<std::string>());
  return t ? human_age(*t, WallClock::now()) : "-";
}

}  // namespace prisn::cli
