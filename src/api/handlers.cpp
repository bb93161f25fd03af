// SPDX-License-Identifier: MIT
// REST handlers: decode the request, call the controller, encode the answer.
#include "api/handlers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "api/dns_routes.hpp"
#include "api/handler_util.hpp"
#include "api/proxy_routes.hpp"
#include "api/resource_routes.hpp"
#include "api/event_stream.hpp"
#include "prisn/core/names.hpp"
#include "prisn/model/deployment_json.hpp"
#include "prisn/model/execution.hpp"
#include "prisn/model/secret.hpp"

#ifndef PRISN_VERSION
#define PRISN_VERSION "0.0.0"
#endif

namespace prisn::api {
namespace {

using model::Json;

Result<logs::ReadOptions> log_options(const Request& req) {
  logs::ReadOptions o;
  if (auto tail = req.param("tail"); !tail.empty()) {
    long long n = -1;
    auto [p, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), n);
    if (ec == std::errc::result_out_of_range) return Error::invalid("tail: too large a number");
    if (ec != std::errc{} || p != tail.data() + tail.size() || n < 0) {
      return Error::invalid("tail: must be a non-negative integer");
    }
    o.tail = static_cast<std::size_t>(n);
  }
  if (auto since = req.param("since"); !since.empty()) {
    auto t = parse_rfc3339(since);
    if (!t) return Error::invalid("since: " + t.error().message);
    o.since_ms = to_epoch_ms(*t);
  }
  return o;
}

Response text_stream(std::shared_ptr<control::LogStream> stream) {
  Response r;
  r.content_type = "text/plain; charset=utf-8";
  r.stream = std::move(stream);
  return r;
}


// `?include=source` (SPEC §3), the only thing a deployment's answer may include.
Result<bool> include_source(const Request& req) {
  if (!req.query.contains("include") || req.param("include") == "source") return req.query.contains("include");
  return Error::invalid(fmt::format("include: expected source (got '{}')", req.param("include")));
}

void add_deployment_routes(Router& r, control::Controller& ctl) {
  r.add("GET", "/api/v1/deployments", [&ctl](const Request& req, const Params&) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    auto source = include_source(req);
    if (!source) return error(source.error());
    return json(200, ctl.list_deployments(*ns, *source));
  });
  auto upsert = [&ctl](const Request& req, const Params& p, bool create_only) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    auto body = body_json(req);
    if (!body) return error(body.error());
    model::DecodeContext dc{req.query.contains("namespace") ? *ns : "", create_only ? "" : p.at("name")};
    auto spec = model::decode_deployment(*body, dc);
    if (!spec) return error(spec.error());
    auto put = ctl.put_deployment(std::move(*spec), create_only);
    if (!put) return error(put.error());
    return json(put->created ? 201 : 200, put->object);
  };
  r.add("POST", "/api/v1/deployments", [upsert](const Request& req, const Params& p) { return upsert(req, p, true); });
  r.add("PUT", "/api/v1/deployments/{name}", [upsert](const Request& req, const Params& p) { return upsert(req, p, false); });
  r.add("GET", "/api/v1/deployments/{name}", [&ctl](const Request& req, const Params& p) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    if (auto ok = path_name(p, "deployment"); !ok) return error(ok.error());
    auto source = include_source(req);
    if (!source) return error(source.error());
    return respond(ctl.get_deployment(*ns, p.at("name"), *source));
  });
  r.add("DELETE", "/api/v1/deployments/{name}", [&ctl](const Request& req, const Params& p) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    if (auto ok = path_name(p, "deployment"); !ok) return error(ok.error());
    auto deleted = ctl.delete_deployment(*ns, p.at("name"));
    if (!deleted) return error(deleted.error());
    return json(200, {{"deleted", p.at("name")}, {"namespace", *ns}});
  });
  r.add("POST", "/api/v1/deployments/{name}/scale", [&ctl](const Request& req, const Params& p) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    if (auto ok = path_name(p, "deployment"); !ok) return error(ok.error());
    auto body = body_json(req);
    if (!body) return error(body.error());
    if (!body->is_object()) return error(Error::invalid("body: must be a JSON object {\"replicas\": N}"));
    model::ObjectReader reader(*body, "");
    if (!reader.has("replicas")) return error(Error::invalid("replicas: required"));
    auto replicas = reader.integer("replicas", 0, 0, 1000);
    if (!replicas) return error(replicas.error());
    if (auto done = reader.finish(); !done) return error(done.error());
    return respond(ctl.scale(*ns, p.at("name"), static_cast<int>(*replicas)));
  });
  r.add("POST", "/api/v1/deployments/{name}/restart", [&ctl](const Request& req, const Params& p) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    if (auto ok = path_name(p, "deployment"); !ok) return error(ok.error());
    const std::string scale = fmt::format(" (to scale, POST /api/v1/deployments/{}/scale {{\"replicas\": N}})", p.at("name"));
    if (auto ok = no_body(req, scale); !ok) return error(ok.error());
    return respond(ctl.restart(*ns, p.at("name")));
  });
  r.add("GET", "/api/v1/deployments/{name}/logs", [&ctl](const Request& req, const Params& p) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    if (auto ok = path_name(p, "deployment"); !ok) return error(ok.error());
    auto options = log_options(req);
    if (!options) return error(options.error());
    if (req.query.contains("instance")) {
      options->instance = req.param("instance");
      if (options->instance.empty()) {  // compared with the logs' names only: nothing else to check
        return error(Error::invalid("instance: expected an instance name such as " + p.at("name") + "-0"));
      }
    }
    auto follow = bool_param(req, "follow");
    if (!follow) return error(follow.error());
    if (*follow) {
      auto stream = ctl.follow_deployment_logs(*ns, p.at("name"), *options);
      if (!stream) return error(stream.error());
      return text_stream(*stream);
    }
    auto logs = ctl.deployment_logs(*ns, p.at("name"), *options);
    if (!logs) return error(logs.error());
    return text(200, std::move(*logs));
  });
  r.add("GET", "/api/v1/endpoints/{name}", [&ctl](const Request& req, const Params& p) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    if (auto ok = path_name(p, "deployment"); !ok) return error(ok.error());
    return respond(ctl.endpoints(*ns, p.at("name")));
  });
  r.add("GET", "/api/v1/endpoints", [&ctl](const Request& req, const Params&) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    Json items = Json::array();
    const Json deployments = ctl.list_deployments(*ns);  // kept: a range over a temporary's member dangles
    for (const auto& d : deployments["items"]) {
      if (d["type"] != "service") continue;
      if (auto ep = ctl.endpoints(*ns, d["name"].get<std::string>())) items.push_back(*ep);
    }
    return json(200, {{"items", items}});
  });
}

// An execution is found by its id alone, unless the request names a namespace: then, as for
// every other resource, one in another namespace is not found.
Result<void> execution_in_namespace(const control::Controller& ctl, const Request& req, const std::string& id) {
  if (!req.query.contains("namespace")) return {};
  auto ns = namespace_of(req);
  if (!ns) return ns.error();
  auto e = ctl.get_execution(id);
  if (!e) return e.error();
  if ((*e)["namespace"] != *ns) {
    return Error::not_found(fmt::format("execution '{}' not found in namespace '{}'", id.substr(0, 80), *ns));
  }
  return {};
}

void add_execution_routes(Router& r, control::Controller& ctl) {
  r.add("POST", "/api/v1/executions", [&ctl](const Request& req, const Params&) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    auto body = body_json(req);
    if (!body) return error(body.error());
    auto request = model::decode_execution_request(*body, req.query.contains("namespace") ? *ns : "");
    if (!request) return error(request.error());
    return respond(ctl.create_execution(*request), 201);
  });
  r.add("GET", "/api/v1/executions", [&ctl](const Request& req, const Params&) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    store::ExecutionQuery q;
    q.ns = *ns;
    q.deployment = req.param("deployment");
    if (req.query.contains("deployment") && !is_valid_name(q.deployment)) {
      return error(Error::invalid("deployment: not a valid name"));
    }
    if (auto status = req.param("status"); !status.empty()) {
      q.status = model::parse_exec_status(status);
      if (!q.status) return error(Error::invalid("status: must be Pending, Running, Completed or Failed"));
    }
    if (auto limit = req.param("limit"); !limit.empty()) {
      long long n = 0;
      auto [ptr, ec] = std::from_chars(limit.data(), limit.data() + limit.size(), n);
      if (ec != std::errc{} || ptr != limit.data() + limit.size() || n < 1 || n > 10000) {
        return error(Error::invalid("limit: must be an integer from 1 to 10000"));
      }
      q.limit = static_cast<std::size_t>(n);
    }
    return respond(ctl.list_executions(q));
  });
  r.add("GET", "/api/v1/executions/{id}", [&ctl](const Request& req, const Params& p) {
    if (auto ok = execution_in_namespace(ctl, req, p.at("id")); !ok) return error(ok.error());
    return respond(ctl.get_execution(p.at("id")));
  });
  r.add("POST", "/api/v1/executions/{id}/cancel", [&ctl](const Request& req, const Params& p) {
    if (auto ok = execution_in_namespace(ctl, req, p.at("id")); !ok) return error(ok.error());
    if (auto ok = no_body(req); !ok) return error(ok.error());
    return respond(ctl.cancel_execution(p.at("id")), 202);
  });
  r.add("GET", "/api/v1/executions/{id}/logs", [&ctl](const Request& req, const Params& p) {
    if (auto ok = execution_in_namespace(ctl, req, p.at("id")); !ok) return error(ok.error());
    auto options = log_options(req);
    if (!options) return error(options.error());
    auto follow = bool_param(req, "follow");
    if (!follow) return error(follow.error());
    if (*follow) {
      auto stream = ctl.follow_execution_logs(p.at("id"), *options);
      if (!stream) return error(stream.error());
      return text_stream(*stream);
    }
    auto logs = ctl.execution_logs(p.at("id"), *options);
    if (!logs) return error(logs.error());
    return text(200, std::move(*logs));
  });
}

void add_secret_routes(Router& r, control::Controller& ctl) {
  r.add("GET", "/api/v1/secrets", [&ctl](const Request& req, const Params&) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    return json(200, ctl.list_secrets(*ns));
  });
  auto upsert = [&ctl](const Request& req, const Params& p, bool create_only) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    auto body = body_json(req);
    if (!body) return error(body.error());
    auto write = model::decode_secret(*body, req.query.contains("namespace") ? *ns : "",
                                      create_only ? "" : p.at("name"));
    if (!write) return error(write.error());
    auto put = ctl.put_secret(*write, create_only);
    if (!put) return error(put.error());
    return json(put->created ? 201 : 200, put->object);
  };
  r.add("POST", "/api/v1/secrets", [upsert](const Request& req, const Params& p) { return upsert(req, p, true); });
  r.add("PUT", "/api/v1/secrets/{name}", [upsert](const Request& req, const Params& p) { return upsert(req, p, false); });
  r.add("GET", "/api/v1/secrets/{name}", [&ctl](const Request& req, const Params& p) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    if (auto ok = path_name(p, "secret"); !ok) return error(ok.error());
    return respond(ctl.get_secret(*ns, p.at("name")));
  });
  r.add("DELETE", "/api/v1/secrets/{name}", [&ctl](const Request& req, const Params& p) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    if (auto ok = path_name(p, "secret"); !ok) return error(ok.error());
    auto deleted = ctl.delete_secret(*ns, p.at("name"));
    if (!deleted) return error(deleted.error());
    return json(200, {{"deleted", p.at("name")}, {"namespace", *ns}});
  });
}

}  // namespace

Result<std::string> namespace_of(const Request& request) {
  const std::string ns = request.param("namespace", "default");
  if (auto ok = validate_name("namespace", ns); !ok) {
    return ok.error();
  }
  return ns;
}

void add_routes(Router& r, control::Controller& ctl, boost::asio::any_io_executor executor) {
  r.add("GET", "/health", [](const Request&, const Params&) { return json(200, {{"status", "ok"}}); });
  r.add("GET", "/metrics", [&ctl](const Request&, const Params&) {
    Response out = text(200, ctl.metrics());
    out.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return out;
  });
  r.add("GET", "/api/v1/version", [](const Request&, const Params&) {
    return json(200, {{"version", PRISN_VERSION}, {"api", "v1"}});
  });
  r.add("GET", "/api/v1/events", [&ctl, executor](const Request& req, const Params&) {
    Response out;
    out.content_type = "text/event-stream";
    out.headers.emplace_back("Cache-Control", "no-cache");
    auto watch = bool_param(req, "watch", true);
    if (!watch) return error(watch.error());
    if (!*watch) return error(Error::invalid("watch: events are only streamed: give watch=true"));
    // Every namespace unless one is asked for (the CLI's `get -w` picks its own).
    std::optional<std::string> ns;
    if (req.query.contains("namespace")) {
      auto asked = namespace_of(req);
      if (!asked) return error(asked.error());  // else a stream that is silent for good
      ns = *asked;
    }
    out.stream = make_event_stream(ctl.events(), executor, ns);
    return out;
  });
  add_deployment_routes(r, ctl);
  add_execution_routes(r, ctl);
  add_secret_routes(r, ctl);
  add_dns_routes(r, ctl, executor);
  add_resource_routes(r, ctl);
  add_proxy_routes(r, ctl, executor);
}

}  // namespace prisn::api
