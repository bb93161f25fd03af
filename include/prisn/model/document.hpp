// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <iterator>
#include <string>

#include "prisn/core/error.hpp"
#include "prisn/model/json.hpp"

namespace prisn::model {

/// The kinds of document `prisn apply` and POST /api/v1/apply take (SPEC §3).
inline constexpr const char* kKinds[] = {"Deployment", "Ingress", "NetworkPolicy"};
inline constexpr const char* kApiVersion = "prisn.io/v1";

/// True when `body` is in the seed's shape ({"apiVersion", "kind", "metadata", "spec"}).
bool is_document(const Json& body);

/// The seed's shape as the flat body the REST API takes: metadata.name and
/// metadata.namespace become name and namespace, spec's fields come up a level. `kind` is
/// checked against `expected_kind` when that is given. Errors name the field
/// ("metadata.name is required", "kind: must be Deployment, Ingress or NetworkPolicy").
struct FlatDocument {
  std::string kind;
  Json body;
};
Result<FlatDocument> flatten_document(const Json& doc, const std::string& expected_kind = {});

struct DecodeContext;
/// Reads `name` and `namespace` of a flat body: the name must match the one in the path (PUT)
/// and the namespace ?namespace= when both are given; the namespace defaults to "default".
Result<void> read_names(ObjectReader& r, const DecodeContext& ctx, std::string& name, std::string& ns);

/// The namespace of a request whose body says `in_body` (may be empty) and whose query says
/// `in_query` (empty when not given): they must agree when both are given; "default" when
/// neither is. The result is a valid name.
Result<std::string> request_namespace(const std::string& in_body, const std::string& in_query);

}  // namespace prisn::model
