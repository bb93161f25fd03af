// SPDX-License-Identifier: MIT
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "prisn/core/error.hpp"
#include "prisn/core/time.hpp"
#include "prisn/model/json.hpp"

namespace prisn::model {

/// What the API may show of a secret: never a value (SPEC §3).
struct SecretMeta {
  std::string name;
  std::string ns = "default";
  std::vector<std::string> keys;
  WallTime created_at{};
  WallTime updated_at{};
};

Json encode_secret(const SecretMeta& s);

/// A key a secret can hold: letters, digits, '-', '_' and '.', at most 253 (as Kubernetes').
bool is_secret_key(std::string_view key);

/// A secret write: `{"name", "value"}` (one key named "value") or `{"name", "data": {...}}`.
struct SecretWrite {
  std::string name;
  std::string ns;
  std::map<std::string, std::string> data;
};

/// Validates a secret body; `name_in_path` is set for PUT. Values never appear in errors.
Result<SecretWrite> decode_secret(const Json& body, const std::string& query_ns,
                                  const std::string& name_in_path);

}  // namespace prisn::model
