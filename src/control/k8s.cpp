// SPDX-License-Identifier: MIT
// Controller: what prisn would create in Kubernetes (SPEC §9).
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "control/controller_impl.hpp"
#include "prisn/k8s/render.hpp"

namespace prisn::control {
namespace {

// A reference without a key means "value, or the only key" (SPEC §3); Kubernetes needs the
// key spelled out, so it is resolved from the secret as stored now.
void resolve_secret_keys(model::DeploymentSpec& spec, const store::Store& store) {
  for (auto& ref : spec.secrets) {
    if (!ref.key.empty()) continue;
    const auto* meta = store.find_secret(spec.ns, ref.secret);
    ref.key = meta != nullptr && meta->keys.size() == 1 ? meta->keys.front() : "value";
  }
}

// A reference without a key to a secret with several keys, none of them `value`: prisn's runs
// fail on it, and Kubernetes would need a key prisn cannot choose.
std::string ambiguous_secret_key(const model::DeploymentSpec& spec, const store::Store& store) {
  for (const auto& ref : spec.secrets) {
    if (!ref.key.empty()) continue;
    const auto* meta = store.find_secret(spec.ns, ref.secret);
    if (meta == nullptr || meta->keys.size() <= 1 ||
        std::find(meta->keys.begin(), meta->keys.end(), "value") != meta->keys.end()) {
      continue;
    }
    return fmt::format("deployment '{}': secret '{}' has several keys; name one as {}/KEY:{} to render it", spec.name,
                       ref.secret, ref.secret, ref.env);
  }
  return {};
}

// An ingress path to a deployment that is not rendered, or has no port, would name a Service
// that cannot exist (and one without a port to a deployment yet to come, a port not known yet),
// and some hosts and paths cannot be written in a Kubernetes Ingress: such a path or rule is
// left out and said (a rule left with no path goes too).
std::string drop_unrenderable_paths(model::IngressSpec& ing, const std::set<std::string>& unrenderable,
                                    const std::map<std::string, int>& first_ports) {
  std::string said;
  std::erase_if(ing.rules, [&](const model::IngressRule& rule) {
    const auto why = k8s::unrenderable_host(rule.host);
    if (!why.empty()) said += fmt::format("# prisn: skipped rule {} of ingress '{}': the host {}\n", rule.host, ing.name, why);
    return !why.empty();
  });
  for (auto& rule : ing.rules) {
    std::erase_if(rule.paths, [&](const model::IngressPath& p) {
      if (const auto port = first_ports.find(p.deployment); port != first_ports.end() && port->second == 0 && p.port == 0) {
        said += fmt::format("# prisn: skipped path {}{} of ingress '{}': deployment '{}' has no port\n", rule.host,
                            p.path, ing.name, p.deployment);
        return true;
      }
      // Its port would be the deployment's first one, which is not known until it exists.
      if (p.port == 0 && !first_ports.contains(p.deployment) && !unrenderable.contains(p.deployment)) {
        said += fmt::format("# prisn: skipped path {}{} of ingress '{}': deployment '{}' does not exist and the path "
                            "names no port\n", rule.host, p.path, ing.name, p.deployment);
        return true;
      }
      if (auto why = k8s::unrenderable_path(p.path); !why.empty()) {
        said += fmt::format("# prisn: skipped path {}{} of ingress '{}': the path {}\n", rule.host, p.path, ing.name, why);
        return true;
      }
      if (!unrenderable.contains(p.deployment)) return false;
      said += fmt::format("# prisn: skipped path {}{} of ingress '{}': deployment '{}' is not rendered\n", rule.host,
                          p.path, ing.name, p.deployment);
      return true;
    });
  }
  std::erase_if(ing.rules, [](const model::IngressRule& r) { return r.paths.empty(); });
  return said;
}

}  // namespace

Result<std::string> Controller::k8s_manifests(const std::string& ns, const std::string& name) const {
  const auto& store = impl_->ctx.store;
  if (!name.empty() && store.find_deployment(ns, name) == nullptr) {
    return Error::not_found(fmt::format("deployment '{}' not found in namespace '{}'", name, ns));
  }
  k8s::RenderOptions options{local_time_zone_name().value_or(""), {}, {}};
  std::vector<model::DeploymentSpec> deployments;
  std::set<std::string> unrenderable;
  std::string skipped;  // for all of a namespace: what cannot be rendered is left out and said
  for (const auto* rec : store.list_deployments(ns)) {
    auto why = k8s::unrenderable(rec->spec);
    if (why.empty()) why = ambiguous_secret_key(rec->spec, store);
    if (why.empty()) options.first_ports.emplace(rec->spec.name, rec->spec.port);
    else unrenderable.insert(rec->spec.name);
    if (rec->spec.expose.kind == model::Expose::Kind::kIngress) options.exposing.insert(rec->spec.name);
    if (!name.empty() && rec->spec.name != name) continue;
    if (!why.empty()) {
      if (!name.empty()) return Error::invalid(why);
      skipped += fmt::format("# prisn: skipped {}\n", why);
      continue;
    }
    deployments.push_back(rec->spec);
    resolve_secret_keys(deployments.back(), store);
  }
  std::vector<model::IngressSpec> ingresses;
  for (const auto* rec : store.list_resources("Ingress", ns)) {
    auto spec = model::decode_ingress(rec->spec, {});
    if (!spec) continue;
    options.ingress_names.insert(spec->name);
    const bool names_it = std::any_of(spec->rules.begin(), spec->rules.end(), [&](const model::IngressRule& r) {
      return std::any_of(r.paths.begin(), r.paths.end(), [&](const model::IngressPath& p) { return p.deployment == name; });
    });
    if (!name.empty() && !names_it) continue;
    skipped += drop_unrenderable_paths(*spec, unrenderable, options.first_ports);
    if (!spec->rules.empty()) ingresses.push_back(*spec);
  }
  std::vector<model::NetworkPolicySpec> policies;
  for (const auto* rec : store.list_resources("NetworkPolicy", ns)) {
    auto spec = model::decode_network_policy(rec->spec, {});
    if (!spec) continue;
    const bool names_it = spec->target == name || std::any_of(spec->ingress.begin(), spec->ingress.end(), [&](const auto& r) {
      return std::find(r.from.begin(), r.from.end(), name) != r.from.end();
    });
    if (name.empty() || names_it) policies.push_back(*spec);
  }
  return skipped + k8s::to_yaml(k8s::objects(deployments, ingresses, policies, options));
}

}  // namespace prisn::control
