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

/// A service's ports as people read them: "8080", or "8080 (http), 9090 (metrics)" when it
/// has several; "-" for none.
inline std::string ports_text(const model::Json& d) {
  if (!d.contains("ports") || !d["ports"].is_array() || d["ports"].size() < 2) {
    return d.value("port", 0) == 0 ? std::string("-") : str(d, "port");
  }
  std::string out;
  for (const auto& p : d["ports"]) out += (out.empty() ? "" : ", ") + str(p, "port") + " (" + str(p, "name") + ")";
  return out;
}

/// Where `expose` makes a service reachable from outside: "nodePort 30080",
/// "ingress api.example.com/v1" (TLS said), or "" when it is not exposed.
inline std::string expose_text(const model::Json& d) {
  if (!d.contains("expose") || !d["expose"].is_object()) return {};
  const auto& e = d["expose"];
  if (e.value("type", "") == "nodePort") return "nodePort " + str(e, "nodePort");
  if (e.value("type", "") != "ingress") return {};
  const bool tls = e.contains("tls") && e["tls"].is_object() && e["tls"].value("enabled", false);
  return "ingress " + str(e, "host") + str(e, "path", "/") + (tls ? " (TLS)" : "");
}

}  // namespace prisn::cli
