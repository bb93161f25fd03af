// SPDX-License-Identifier: MIT
#include "api/resource_routes.hpp"

#include <functional>

#include "api/handler_util.hpp"
#include "api/handlers.hpp"
#include "prisn/manifest/manifest.hpp"

namespace prisn::api {
namespace {

using model::Json;
using control::Controller;

// The same five routes for each kind, over the controller's calls for it.
struct Kind {
  const char* path;  ///< "/api/v1/ingresses"
  const char* noun;  ///< "ingress", for 404s of invalid names
  std::function<Json(const std::string& ns)> list;
  std::function<Result<Json>(const std::string& ns, const std::string& name)> get;
  std::function<Result<Controller::PutResult>(const Json& body, const model::DecodeContext& ctx, bool create_only)> put;
  std::function<Result<void>(const std::string& ns, const std::string& name)> remove;
};

void add_kind(Router& r, Kind kind) {
  const std::string collection = kind.path;
  const std::string one = collection + "/{name}";
  auto k = std::make_shared<Kind>(std::move(kind));
  r.add("GET", collection, [k](const Request& req, const Params&) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    return json(200, k->list(*ns));
  });
  auto upsert = [k](const Request& req, const Params& p, bool create_only) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    auto body = body_json(req);
    if (!body) return error(body.error());
    const model::DecodeContext ctx{req.query.contains("namespace") ? *ns : "", create_only ? "" : p.at("name")};
    auto put = k->put(*body, ctx, create_only);
    if (!put) return error(put.error());
    return json(put->created ? 201 : 200, put->object);
  };
  r.add("POST", collection, [upsert](const Request& req, const Params& p) { return upsert(req, p, true); });
  r.add("PUT", one, [upsert](const Request& req, const Params& p) { return upsert(req, p, false); });
  r.add("GET", one, [k](const Request& req, const Params& p) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    if (auto ok = path_name(p, k->noun); !ok) return error(ok.error());
    return respond(k->get(*ns, p.at("name")));
  });
  r.add("DELETE", one, [k](const Request& req, const Params& p) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    if (auto ok = path_name(p, k->noun); !ok) return error(ok.error());
    auto deleted = k->remove(*ns, p.at("name"));
    if (!deleted) return error(deleted.error());
    return json(200, {{"deleted", p.at("name")}, {"namespace", *ns}});
  });
}

// The body of POST /apply: YAML or JSON documents, or the CLI's {"manifest", "files"}.
Result<std::pair<std::vector<manifest::Document>, manifest::Files>> apply_body(const Request& req) {
  if (req.body.empty()) return Error::bad_request("request body is empty; expected YAML or JSON documents");
  manifest::Files files;
  std::string text = req.body;
  // The CLI sends the manifest as written, with the scripts its Deployments name.
  const Json envelope = Json::parse(req.body, nullptr, false);
  if (envelope.is_discarded() && req.content_type.starts_with("application/json")) {
    // YAML sent with curl's usual JSON header is taken as YAML; a body that is neither gets
    // the error about it as JSON, which is what its sender meant it to be.
    auto as_yaml = manifest::parse(text);
    if (!as_yaml) return model::parse_json_body(req.body).error();
    return std::pair{std::move(*as_yaml), std::move(files)};
  }
  if (envelope.is_object() && envelope.contains("manifest") && envelope["manifest"].is_string()) {
    text = envelope["manifest"].get<std::string>();
    if (envelope.contains("files")) {
      if (!envelope["files"].is_object()) return Error::invalid("files: must be an object of path: content");
      for (const auto& [path, content] : envelope["files"].items()) {
        if (!content.is_string()) return Error::invalid("files." + path + ": must be a string");
        files[path] = content.get<std::string>();
      }
    }
  }
  auto docs = manifest::parse(text);
  if (!docs) return docs.error();
  return std::pair{std::move(*docs), std::move(files)};
}

}  // namespace

void add_resource_routes(Router& r, Controller& ctl) {
  add_kind(r, {"/api/v1/ingresses", "ingress", [&ctl](const std::string& ns) { return ctl.list_ingresses(ns); },
               [&ctl](const std::string& ns, const std::string& n) { return ctl.get_ingress(ns, n); },
               [&ctl](const Json& body, const model::DecodeContext& ctx, bool create_only) -> Result<Controller::PutResult> {
                 auto spec = model::decode_ingress(body, ctx);
                 if (!spec) return spec.error();
                 return ctl.put_ingress(*spec, create_only);
               },
               [&ctl](const std::string& ns, const std::string& n) { return ctl.delete_ingress(ns, n); }});
  add_kind(r, {"/api/v1/networkpolicies", "network policy",
               [&ctl](const std::string& ns) { return ctl.list_network_policies(ns); },
               [&ctl](const std::string& ns, const std::string& n) { return ctl.get_network_policy(ns, n); },
               [&ctl](const Json& body, const model::DecodeContext& ctx, bool create_only) -> Result<Controller::PutResult> {
                 auto spec = model::decode_network_policy(body, ctx);
                 if (!spec) return spec.error();
                 return ctl.put_network_policy(*spec, create_only);
               },
               [&ctl](const std::string& ns, const std::string& n) { return ctl.delete_network_policy(ns, n); }});
  r.add("GET", "/api/v1/k8s/manifests", [&ctl](const Request& req, const Params&) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    const std::string name = req.param("deployment");
    if (req.query.contains("deployment") && !is_valid_name(name)) return error(Error::invalid("deployment: not a valid name"));
    auto all = bool_param(req, "all");
    if (!all) return error(all.error());
    if (*all && !name.empty()) return error(Error::invalid("all: give deployment=NAME or all=true, not both"));
    // No deployment (or ?all=true): everything in the namespace.
    auto yaml = ctl.k8s_manifests(*ns, name);
    if (!yaml) return error(yaml.error());
    Response out = text(200, std::move(*yaml));
    out.content_type = "application/yaml";
    return out;
  });
  r.add("POST", "/api/v1/apply", [&ctl](const Request& req, const Params&) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    auto body = apply_body(req);
    if (!body) return error(body.error());
    auto items = manifest::decode(body->first, req.query.contains("namespace") ? *ns : "", body->second);
    if (!items) return error(items.error());
    return respond(ctl.apply(*items));
  });
}

}  // namespace prisn::api
