// SPDX-License-Identifier: MIT
// Controller: ingresses and network policies, and the host/path routes they claim.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "control/controller_impl.hpp"
#include "prisn/core/log.hpp"
#include "prisn/proxy/route_table.hpp"

namespace prisn::control {
using model::Json;

namespace {

constexpr const char* kIngress = "Ingress";
constexpr const char* kPolicy = "NetworkPolicy";

Error not_found(const char* kind, const std::string& ns, const std::string& name) {
  return Error::not_found(fmt::format("{} '{}' not found in namespace '{}'",
                                      kind == std::string(kIngress) ? "ingress" : "network policy", name, ns));
}

Json with_times(Json out, const store::ResourceRecord& rec) {
  out["created_at"] = to_rfc3339(rec.created_at);
  out["updated_at"] = to_rfc3339(rec.updated_at);
  return out;
}

}  // namespace

// Keyed by proxy::route_path(), so that "/api", "/api/" and "/%61pi" are one route, as the
// router matches them.
std::vector<RouteKey> routes_of(const model::IngressSpec& spec) {
  std::vector<RouteKey> out;
  for (const auto& rule : spec.rules) {
    for (const auto& p : rule.paths) out.emplace_back(rule.host, proxy::route_path(p.path));
  }
  return out;
}

std::vector<RouteKey> routes_of(const model::DeploymentSpec& spec) {
  if (spec.expose.kind != model::Expose::Kind::kIngress) return {};
  return {{spec.expose.host, proxy::route_path(spec.expose.path)}};
}

std::map<RouteKey, std::string> Controller::Impl::claimed_routes() const {
  std::map<RouteKey, std::string> out;
  for (const auto* rec : ctx.store.list_resources(kIngress, "")) {
    auto spec = model::decode_ingress(rec->spec, {});
    if (!spec) continue;
    for (const auto& key : routes_of(*spec)) out.emplace(key, fmt::format("ingress {}/{}", rec->ns, rec->name));
  }
  for (const auto* rec : ctx.store.list_deployments("")) {
    for (const auto& key : routes_of(rec->spec)) {
      out.emplace(key, fmt::format("deployment {}/{}", rec->spec.ns, rec->spec.name));
    }
  }
  return out;
}

std::vector<std::string> route_fields(const model::IngressSpec& spec) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < spec.rules.size(); ++i) {
    for (std::size_t j = 0; j < spec.rules[i].paths.size(); ++j) out.push_back(fmt::format("rules[{}].paths[{}].path", i, j));
  }
  return out;
}

Result<void> check_routes(const std::map<RouteKey, std::string>& claimed, const std::vector<RouteKey>& wanted,
                          const std::string& self, const std::function<std::string(const std::string&)>& describe,
                          const std::vector<std::string>& fields) {
  const auto field = [&fields](std::size_t k) { return k < fields.size() ? fields[k] + ": " : std::string(); };
  std::set<RouteKey> own;
  for (std::size_t k = 0; k < wanted.size(); ++k) {
    const auto& key = wanted[k];
    if (!own.insert(key).second) {
      return Error::invalid(fmt::format("{}host '{}' path '{}' is routed twice (paths match on whole segments)",
                                        field(k), key.first.empty() ? "*" : key.first, key.second));
    }
  }
  for (std::size_t k = 0; k < wanted.size(); ++k) {
    const auto& key = wanted[k];
    auto it = claimed.find(key);
    if (it != claimed.end() && it->second != self) {
      return Error::conflict(fmt::format("{}host '{}' path '{}' is already routed by {}", field(k),
                                         key.first.empty() ? "*" : key.first, key.second,
                                         describe ? describe(it->second) : it->second));
    }
  }
  return {};
}

Result<void> check_ingress_ports(const model::IngressSpec& spec, const FindDeployment& find) {
  for (std::size_t i = 0; i < spec.rules.size(); ++i) {
    for (std::size_t j = 0; j < spec.rules[i].paths.size(); ++j) {
      const auto& p = spec.rules[i].paths[j];
      const auto* target = find(spec.ns, p.deployment);
      if (target == nullptr) continue;
      if (target->ports.empty()) {  // a job, or a service without a port: nothing to route to
        return Error::invalid(fmt::format("rules[{}].paths[{}].deployment: deployment '{}' has no port to route to "
                                          "(a {} {})", i, j, p.deployment, model::to_string(target->type),
                                          target->type == model::DeploymentType::kService ? "without one" : "has none"));
      }
      if (p.port == 0) continue;  // its first
      std::vector<std::uint16_t> ports;
      for (const auto& named : target->ports) ports.push_back(named.port);
      if (std::find(ports.begin(), ports.end(), p.port) == ports.end()) {
        return Error::invalid(fmt::format("rules[{}].paths[{}].port: deployment '{}' has no port {} (its ports: {})", i, j,
                                          p.deployment, p.port, ports.empty() ? "none" : fmt::format("{}", fmt::join(ports, ", "))));
      }
    }
  }
  return {};
}

Json Controller::Impl::ingress_json(const store::ResourceRecord& rec) const { return with_times(rec.spec, rec); }

std::optional<std::string> Controller::Impl::ingress_tls_warning(const model::IngressSpec& spec) const {
  if (spec.tls.empty()) return std::nullopt;
  if (!options.tls) {
    return "HTTPS is not on in this prisnd: these hosts are served over HTTP only. An ingress that names TLS turns "
           "it on at prisnd's next start (on --https, 0.0.0.0:443 unless given), unless prisnd runs with --https off";
  }
  if (options.acme != nullptr) return std::nullopt;  // ACME is asked for what no secret covers
  std::vector<std::string> missing;
  for (const auto& t : spec.tls) {
    if (ctx.store.find_secret(spec.ns, t.secret_name) == nullptr) missing.push_back(t.secret_name);
  }
  if (missing.empty()) return std::nullopt;
  return fmt::format("TLS secret {} does not exist in namespace '{}' yet: its hosts have no certificate until it is "
                     "created (with keys tls.crt and tls.key)", fmt::join(missing, ", "), spec.ns);
}

Json Controller::Impl::policy_json(const store::ResourceRecord& rec) const {
  Json out = with_times(rec.spec, rec);
  auto not_enforced = policy_not_enforced();
  if (auto spec = model::decode_network_policy(rec.spec, {}); !not_enforced && spec) {
    // Runs of a job or cron deployment use the node's network: they have no address of their
    // own for a filter to guard (as sources, they are told apart by their cgroup).
    const auto* target = ctx.store.find_deployment(spec->ns, spec->target);
    if (target != nullptr && target->spec.type != model::DeploymentType::kService) {
      not_enforced = fmt::format("not enforced: '{}' is a {} deployment, whose runs use the node's network, where "
                                 "a policy cannot guard them; policies guard services' instances",
                                 spec->target, model::to_string(target->spec.type));
    }
  }
  out["enforced"] = !not_enforced;
  if (not_enforced) out["reason"] = *not_enforced;
  return out;
}

Result<Controller::PutResult> Controller::Impl::put_resource(const char* kind, const std::string& ns,
                                                             const std::string& name, Json spec, bool create_only) {
  const auto* existing = ctx.store.find_resource(kind, ns, name);
  if (existing != nullptr && create_only) {
    return Error::conflict(fmt::format("{} '{}' already exists in namespace '{}'",
                                       kind == std::string(kIngress) ? "ingress" : "network policy", name, ns));
  }
  const auto now = WallClock::now();
  store::ResourceRecord rec{kind, ns, name, std::move(spec), existing ? existing->created_at : now, now};
  if (auto stored = ctx.store.put_resource(rec); !stored) return stored.error();
  logger("control")->info("{} {}/{} {}", kind, ns, name, existing ? "updated" : "created");
  const bool ingress = kind == std::string(kIngress);
  if (ingress) {
    publish_endpoints();  // now: the route is in place before the API answers
    publish_certificates();
    if (!options.tls && rec.spec.contains("tls") && rec.spec["tls"].is_array() && !rec.spec["tls"].empty()) {
      logger("control")->warn("ingress {}/{} names TLS certificates, but HTTPS is off: it starts with the next "
                               "start of prisnd (or give --https HOST:PORT)", ns, name);
    }
  } else {
    publish_routes();    // the router applies policies to requests from instances
    enforce_policies();  // now: the filter is in place before the API answers
  }
  Json out = ingress ? ingress_json(rec) : policy_json(rec);
  if (events.has_subscribers()) {
    events.publish({existing ? "MODIFIED" : "ADDED", ingress ? "ingress" : "networkpolicy", out});
  }
  return PutResult{out, existing == nullptr};
}

Result<void> Controller::Impl::delete_resource(const char* kind, const std::string& ns, const std::string& name) {
  const auto* rec = ctx.store.find_resource(kind, ns, name);
  if (rec == nullptr) return not_found(kind, ns, name);
  const bool ingress = kind == std::string(kIngress);
  const Json last = ingress ? ingress_json(*rec) : policy_json(*rec);
  if (auto removed = ctx.store.delete_resource(kind, ns, name); !removed) return removed;
  logger("control")->info("{} {}/{} deleted", kind, ns, name);
  if (ingress) {
    publish_endpoints();  // now: the route is in place before the API answers
    publish_certificates();
  } else {
    publish_routes();
    enforce_policies();
  }
  if (events.has_subscribers()) events.publish({"DELETED", ingress ? "ingress" : "networkpolicy", last});
  return {};
}

Json Controller::list_ingresses(const std::string& ns) const {
  Json items = Json::array();
  for (const auto* rec : impl_->ctx.store.list_resources(kIngress, ns)) items.push_back(impl_->ingress_json(*rec));
  return {{"items", items}};
}

Result<Json> Controller::get_ingress(const std::string& ns, const std::string& name) const {
  const auto* rec = impl_->ctx.store.find_resource(kIngress, ns, name);
  if (rec == nullptr) return not_found(kIngress, ns, name);
  return impl_->ingress_json(*rec);
}

Result<Controller::PutResult> Controller::Impl::put_ingress(const model::IngressSpec& spec, bool create_only,
                                                            const FindDeployment& find) {
  const auto self = fmt::format("ingress {}/{}", spec.ns, spec.name);
  if (auto ok = check_routes(claimed_routes(), routes_of(spec), self); !ok) return ok.error();
  if (auto ok = check_ingress_ports(spec, find); !ok) return ok.error();
  return put_resource(kIngress, spec.ns, spec.name, model::encode_ingress(spec), create_only);
}

Result<Controller::PutResult> Controller::put_ingress(const model::IngressSpec& spec, bool create_only) {
  const auto& store = impl_->ctx.store;
  return impl_->put_ingress(spec, create_only, [&store](const std::string& ns, const std::string& name) {
    const auto* rec = store.find_deployment(ns, name);
    return rec != nullptr ? &rec->spec : nullptr;
  });
}

Result<void> Controller::delete_ingress(const std::string& ns, const std::string& name) {
  return impl_->delete_resource(kIngress, ns, name);
}

Json Controller::list_network_policies(const std::string& ns) const {
  Json items = Json::array();
  for (const auto* rec : impl_->ctx.store.list_resources(kPolicy, ns)) items.push_back(impl_->policy_json(*rec));
  return {{"items", items}};
}

Result<Json> Controller::get_network_policy(const std::string& ns, const std::string& name) const {
  const auto* rec = impl_->ctx.store.find_resource(kPolicy, ns, name);
  if (rec == nullptr) return not_found(kPolicy, ns, name);
  return impl_->policy_json(*rec);
}

Result<Controller::PutResult> Controller::put_network_policy(const model::NetworkPolicySpec& spec, bool create_only) {
  return impl_->put_resource(kPolicy, spec.ns, spec.name, model::encode_network_policy(spec), create_only);
}

Result<void> Controller::delete_network_policy(const std::string& ns, const std::string& name) {
  return impl_->delete_resource(kPolicy, ns, name);
}

}  // namespace prisn::control
