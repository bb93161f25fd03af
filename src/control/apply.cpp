// SPDX-License-Identifier: MIT
// Controller::apply: a manifest's objects, all checked before any is changed.
#include <fmt/format.h>

#include <set>

#include "control/controller_impl.hpp"
#include "prisn/model/deployment_json.hpp"

namespace prisn::control {
using model::Json;

namespace {

// The state as applying the manifest's items in order leaves it, item by item: a manifest
// is valid when applying its documents one by one would be.
struct Checked {
  std::map<RouteKey, std::string> routes;          // claimed so far, by the store and earlier items
  std::map<std::uint16_t, std::string> item_ports;  // published by earlier items
  std::map<std::string, std::string> item_where;    // an earlier item's owner name → where it is
  std::set<Key> replaced;                           // stored deployments earlier items replace
  std::set<std::uint16_t> released;                 // the ports those published before
};

// "document 2 (Deployment api), line 12", or without the line for JSON.
std::string located(const manifest::Item& item) {
  return item.line > 0 ? fmt::format("{}, line {}", item.where, item.line) : item.where;
}

// Names the earlier document that holds `owner`, when one does ("deployment default/a" →
// "deployment default/a (document 1 (Deployment a), line 3)").
std::string with_where(const Checked& seen, const std::string& owner) {
  auto it = seen.item_where.find(owner);
  return it == seen.item_where.end() ? owner : fmt::format("{} ({})", owner, it->second);
}

Result<void> check_item_ports(const model::DeploymentSpec& spec, const std::string& self, Checked& seen) {
  if (spec.type != model::DeploymentType::kService) return {};
  std::vector<std::uint16_t> ports;
  for (const auto& p : spec.ports) ports.push_back(p.port);
  if (spec.expose.kind == model::Expose::Kind::kNodePort) ports.push_back(spec.expose.node_port);
  for (auto port : ports) {
    auto [it, inserted] = seen.item_ports.emplace(port, self);
    if (!inserted && it->second != self) {
      return Error::conflict(fmt::format("{}: port {} is also published by {} in this manifest", port_field(spec, port),
                                         port, with_where(seen, it->second)));
    }
  }
  return {};
}

// `self`'s routes become `routes`: what it routed before is given up (a later item may take
// it), then each of `routes` (asked for by `fields`) must be free.
Result<void> claim(const std::vector<RouteKey>& routes, const std::vector<std::string>& fields, const std::string& self,
                   Checked& seen) {
  std::erase_if(seen.routes, [&self](const auto& entry) { return entry.second == self; });
  const auto describe = [&seen](const std::string& owner) { return with_where(seen, owner); };
  if (auto ok = check_routes(seen.routes, routes, self, describe, fields); !ok) return ok;
  for (const auto& r : routes) seen.routes[r] = self;
  return {};
}

// The ports a stored deployment published, which replacing it gives up.
void release(const Controller::Impl& d, const model::DeploymentSpec& spec, Checked& seen) {
  const auto* stored = d.ctx.store.find_deployment(spec.ns, spec.name);
  if (stored == nullptr) return;
  seen.replaced.insert(Key{spec.ns, spec.name});
  for (const auto& p : stored->spec.ports) seen.released.insert(p.port);
  if (stored->spec.expose.kind == model::Expose::Kind::kNodePort) seen.released.insert(stored->spec.expose.node_port);
}

// A deployment as applying `items` leaves it: the manifest's, else the stored one.
FindDeployment as_applied(const Controller::Impl& d, const std::vector<manifest::Item>& items) {
  return [&d, &items](const std::string& ns, const std::string& name) -> const model::DeploymentSpec* {
    for (const auto& item : items) {
      const auto* dep = std::get_if<model::DeploymentSpec>(&item.spec);
      if (dep != nullptr && dep->ns == ns && dep->name == name) return dep;
    }
    const auto* rec = d.ctx.store.find_deployment(ns, name);
    return rec != nullptr ? &rec->spec : nullptr;
  };
}

// The check the matching put_* makes, plus conflicts with the manifest's earlier objects;
// an item that passes is remembered by its owner name, for a later item's conflict message.
// `items` is the whole manifest: an ingress is checked against its deployments as applied.
Result<void> check(const Controller::Impl& d, const manifest::Item& item, const std::vector<manifest::Item>& items,
                   Checked& seen) {
  if (const auto* dep = std::get_if<model::DeploymentSpec>(&item.spec)) {
    model::DeploymentSpec spec = *dep;
    normalize_ports(spec);
    const auto self = fmt::format("deployment {}/{}", spec.ns, spec.name);
    if (auto ok = d.check_deployment_fields(spec); !ok) return ok;
    if (auto ok = check_item_ports(spec, self, seen); !ok) return ok;
    if (spec.type == model::DeploymentType::kService) {
      if (auto ok = d.check_port_conflicts(spec, seen.replaced); !ok) return ok;
      if (auto ok = d.check_ports_free(spec, seen.released); !ok) return ok;
    }
    if (auto ok = claim(routes_of(spec), {"expose.host"}, self, seen); !ok) return ok;
    release(d, spec, seen);
    seen.item_where.try_emplace(self, located(item));
  } else if (const auto* ing = std::get_if<model::IngressSpec>(&item.spec)) {
    const auto self = fmt::format("ingress {}/{}", ing->ns, ing->name);
    if (auto ok = claim(routes_of(*ing), route_fields(*ing), self, seen); !ok) return ok;
    if (auto ok = check_ingress_ports(*ing, as_applied(d, items)); !ok) return ok;
    seen.item_where.try_emplace(self, located(item));
  }
  return {};
}

bool unchanged(const Controller::Impl& d, const manifest::Item& item) {
  if (const auto* dep = std::get_if<model::DeploymentSpec>(&item.spec)) {
    model::DeploymentSpec spec = *dep;
    const auto* existing = d.ctx.store.find_deployment(spec.ns, spec.name);
    if (existing == nullptr) return false;
    // `port: auto` keeps the port it was given: the same manifest again changes nothing.
    if (spec.port_auto && existing->spec.port != 0) take_auto_port(spec, existing->spec.port);
    normalize_ports(spec);
    return !spec.port_auto && existing->spec == spec;
  }
  if (const auto* ing = std::get_if<model::IngressSpec>(&item.spec)) {
    const auto* existing = d.ctx.store.find_resource("Ingress", ing->ns, ing->name);
    return existing != nullptr && existing->spec == model::encode_ingress(*ing);
  }
  const auto& pol = std::get<model::NetworkPolicySpec>(item.spec);
  const auto* existing = d.ctx.store.find_resource("NetworkPolicy", pol.ns, pol.name);
  return existing != nullptr && existing->spec == model::encode_network_policy(pol);
}

// A service whose document leaves replicas out keeps the count it has (set by `prisn scale`),
// as `prisn deploy` without --replicas and `kubectl apply` do.
std::vector<manifest::Item> keep_replicas_not_given(const Controller::Impl& d, std::vector<manifest::Item> items) {
  for (auto& item : items) {
    auto* dep = std::get_if<model::DeploymentSpec>(&item.spec);
    if (dep == nullptr || item.replicas_given || dep->type != model::DeploymentType::kService) continue;
    const auto* existing = d.ctx.store.find_deployment(dep->ns, dep->name);
    if (existing != nullptr && existing->spec.type == model::DeploymentType::kService) {
      dep->replicas = existing->spec.replicas;
    }
  }
  return items;
}

}  // namespace

Result<Json> Controller::apply(const std::vector<manifest::Item>& given) {
  auto& d = *impl_;
  const std::vector<manifest::Item> items = keep_replicas_not_given(d, given);
  Checked seen{d.claimed_routes(), {}};
  for (const auto& item : items) {
    if (auto ok = check(d, item, items, seen); !ok) return manifest::locate(item, ok.error());
  }
  Json results = Json::array();
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& item = items[i];
    const auto [ns, name] = std::visit([](const auto& s) { return std::pair{s.ns, s.name}; }, item.spec);
    std::string action = "unchanged";
    if (!unchanged(d, item)) {
      Result<PutResult> put = Error::internal("unreachable");
      if (const auto* dep = std::get_if<model::DeploymentSpec>(&item.spec)) put = put_deployment(*dep, false);
      else if (const auto* ing = std::get_if<model::IngressSpec>(&item.spec)) put = d.put_ingress(*ing, false, as_applied(d, items));
      else put = put_network_policy(std::get<model::NetworkPolicySpec>(item.spec), false);
      if (!put) {
        // Only what cannot be checked beforehand gets here (a port taken by another program,
        // a failed write): say what was applied before it.
        return Error{put.error().kind, fmt::format("{}: {} ({} of {} objects were applied before it)", located(item),
                                                   put.error().message, i, items.size())};
      }
      action = put->created ? "created" : "configured";
    }
    Json result = {{"kind", item.kind}, {"name", name}, {"namespace", ns}, {"action", action}};
    if (item.kind == "Deployment") {
      // Stored, but it cannot run (a secret it names is missing, its runtime is not there), or
      // its new instances cannot start: said as `prisn deploy` says it.
      const auto warning = model::deployment_warning(d.deployment_status(*d.ctx.store.find_deployment(ns, name)));
      if (warning) result["warning"] = *warning;
    } else if (const auto* ing = std::get_if<model::IngressSpec>(&item.spec)) {
      if (const auto warning = d.ingress_tls_warning(*ing)) result["warning"] = *warning;
    } else if (item.kind == "NetworkPolicy") {
      // Stored either way; said here too, as `get networkpolicies` says it (SPEC §7.6).
      const Json policy = d.policy_json(*d.ctx.store.find_resource(item.kind, ns, name));
      if (!policy.value("enforced", true)) result["warning"] = policy.value("reason", "");
    }
    results.push_back(std::move(result));
  }
  return Json{{"items", results}};
}

}  // namespace prisn::control
