// SPDX-License-Identifier: MIT
#include "prisn/model/document.hpp"

#include <fmt/format.h>

#include "prisn/core/names.hpp"
#include "prisn/model/deployment_json.hpp"

namespace prisn::model {

bool is_document(const Json& body) {
  return body.is_object() && (body.contains("metadata") || body.contains("spec") || body.contains("apiVersion"));
}

Result<FlatDocument> flatten_document(const Json& doc, const std::string& expected_kind) {
  if (!doc.is_object()) return Error::invalid("document: must be a mapping of apiVersion, kind, metadata and spec");
  ObjectReader r(doc, "");
  r.ignore({"status"});
  auto api = r.string("apiVersion");
  if (!api) return api.error();
  // A manifest says what it is, as kubectl wants it to; the JSON API's own endpoints, whose
  // path says the kind, also take the document shape without it.
  if (api->empty() && expected_kind.empty()) {
    return Error::invalid(fmt::format("apiVersion is required: {}", kApiVersion));
  }
  if (!api->empty() && *api != kApiVersion) {
    return Error::invalid(fmt::format("apiVersion: must be {} (got '{}')", kApiVersion, api->substr(0, 40)));
  }
  auto kind = r.string("kind", expected_kind);
  if (!kind) return kind.error();
  if (kind->empty()) return Error::invalid("kind is required: Deployment, Ingress or NetworkPolicy");
  if (std::find(std::begin(kKinds), std::end(kKinds), *kind) == std::end(kKinds)) {
    return Error::invalid(fmt::format("kind: must be Deployment, Ingress or NetworkPolicy (got '{}')", kind->substr(0, 40)));
  }
  if (!expected_kind.empty() && *kind != expected_kind) {
    return Error::invalid(fmt::format("kind: a {} does not belong here, only a {}", *kind, expected_kind));
  }
  const Json* meta = r.get("metadata");
  if (meta == nullptr) return Error::invalid("metadata.name is required");
  if (!meta->is_object()) return Error::invalid("metadata: must be a mapping (name, namespace)");
  ObjectReader m(*meta, "metadata");
  m.ignore({"labels", "annotations"});
  auto name = m.string("name");
  if (!name) return name.error();
  if (name->empty()) return Error::invalid("metadata.name is required");
  auto ns = m.string("namespace");
  if (!ns) return ns.error();
  if (auto ok = m.finish(); !ok) return ok.error();
  FlatDocument out{*kind, Json::object()};
  if (const Json* spec = r.get("spec")) {
    if (!spec->is_object()) return Error::invalid("spec: must be a mapping");
    for (const char* key : {"name", "namespace"}) {
      if (spec->contains(key)) return Error::invalid(fmt::format("spec.{}: give it as metadata.{}", key, key));
    }
    out.body = *spec;
  }
  if (auto ok = r.finish(); !ok) {
    return Error::invalid(fmt::format("{} at the top level of the document, which holds apiVersion, kind, metadata "
                                      "and spec (a {}'s fields go under spec)", ok.error().message, *kind));
  }
  out.body["name"] = *name;
  if (!ns->empty()) out.body["namespace"] = *ns;
  return out;
}

Result<void> read_names(ObjectReader& r, const DecodeContext& ctx, std::string& name_out, std::string& ns_out) {
  auto name = r.string("name");
  if (!name) return name.error();
  if (!ctx.name_in_path.empty()) {
    if (!name->empty() && *name != ctx.name_in_path) {
      return Error::invalid(fmt::format("name: '{}' does not match the name in the path '{}'", name->substr(0, 63),
                                        ctx.name_in_path));
    }
    name_out = ctx.name_in_path;
  } else {
    name_out = *name;
  }
  if (auto ok = validate_name("name", name_out); !ok) return ok.error();
  auto ns = r.string("namespace");
  if (!ns) return ns.error();
  auto resolved = request_namespace(*ns, ctx.ns);
  if (!resolved) return resolved.error();
  ns_out = std::move(*resolved);
  return {};
}

Result<std::string> request_namespace(const std::string& in_body, const std::string& in_query) {
  if (!in_query.empty() && !in_body.empty() && in_body != in_query) {
    return Error::invalid(fmt::format("namespace: '{}' does not match the namespace of the request, '{}' (?namespace=, "
                                      "the CLI's -n)", in_body.substr(0, 63), in_query));
  }
  std::string ns = !in_query.empty() ? in_query : (in_body.empty() ? "default" : in_body);
  if (auto ok = validate_name("namespace", ns); !ok) return ok.error();
  return ns;
}

}  // namespace prisn::model
