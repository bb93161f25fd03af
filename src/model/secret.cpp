// SPDX-License-Identifier: MIT
#include "prisn/model/secret.hpp"

#include <fmt/format.h>

#include "prisn/core/base64.hpp"
#include "prisn/core/names.hpp"
#include "prisn/model/document.hpp"

namespace prisn::model {

Json encode_secret(const SecretMeta& s) {
  return {{"name", s.name},
          {"namespace", s.ns},
          {"keys", s.keys},
          {"created_at", to_rfc3339(s.created_at)},
          {"updated_at", to_rfc3339(s.updated_at)}};
}

bool is_secret_key(std::string_view key) {
  if (key.empty() || key.size() > 253 || key == "." || key == "..") {
    return false;
  }
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return true;
}

Result<SecretWrite> decode_secret(const Json& body, const std::string& query_ns,
                                  const std::string& name_in_path) {
  if (!body.is_object()) {
    return Error::invalid("body: must be a JSON object");
  }
  ObjectReader r(body, "");
  r.ignore({"keys", "created_at", "updated_at"});
  SecretWrite out;
  auto name = r.string("name");
  if (!name) return name.error();
  if (!name_in_path.empty() && !name->empty() && *name != name_in_path) {
    return Error::invalid("name: does not match the name in the path");
  }
  out.name = name_in_path.empty() ? *name : name_in_path;
  if (auto ok = validate_name("name", out.name); !ok) return ok.error();
  auto ns = r.string("namespace");
  if (!ns) return ns.error();
  auto resolved = request_namespace(*ns, query_ns);
  if (!resolved) return resolved.error();
  out.ns = std::move(*resolved);
  const Json* value = r.get("value");
  const Json* data = r.get("data");
  const Json* binary = r.get("binaryData");
  if ((value != nullptr) + (data != nullptr || binary != nullptr) != 1) {
    return Error::invalid("value: give either value, or data / binaryData (objects of key: value)");
  }
  if (value != nullptr) {
    if (!value->is_string()) return Error::invalid("value: must be a string");
    out.data["value"] = value->get<std::string>();
  } else {
    // data: text values; binaryData: base64 of bytes that are not valid UTF-8.
    constexpr std::size_t kMaxKeys = 256;
    for (auto [field, object] : {std::pair{"data", data}, std::pair{"binaryData", binary}}) {
      if (object == nullptr) continue;
      if (!object->is_object()) {
        return Error::invalid(fmt::format("{}: must be an object of key: value strings", field));
      }
      if (out.data.size() + object->size() > kMaxKeys) {
        return Error::invalid(fmt::format("{}: a secret holds at most {} keys (data and binaryData together)", field,
                                          kMaxKeys));
      }
      for (const auto& [k, v] : object->items()) {
        if (!is_secret_key(k)) {
          return Error::invalid(fmt::format("{}.{}: keys may hold letters, digits, '-', '_' and '.'", field, k.substr(0, 60)));
        }
        if (!v.is_string()) return Error::invalid(fmt::format("{}.{}: must be a string", field, k));
        if (out.data.contains(k)) return Error::invalid(fmt::format("{}.{}: key given twice", field, k));
        if (object == binary) {
          auto bytes = base64_decode(v.get<std::string>());
          if (!bytes) return Error::invalid(fmt::format("binaryData.{}: not valid base64", k));
          out.data[k] = std::move(*bytes);
        } else {
          out.data[k] = v.get<std::string>();
        }
      }
    }
    if (out.data.empty()) return Error::invalid(fmt::format("{}: must not be empty", data ? "data" : "binaryData"));
  }
  if (auto done = r.finish(); !done) return done.error();
  return out;
}

}  // namespace prisn::model
