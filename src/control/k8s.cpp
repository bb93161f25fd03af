// SPDX-License-Identifier: MIT
// Controller: what prisn would create in Kubernetes (SPEC §9).
#include <fmt/format.h>

#include <algorithm>

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

}  // namespace

Result<std::string> Controller::k8s_manifests(const std::string& ns, const std::string& name) const {
  const auto& store = impl_->ctx.store;
  if (!name.empty() && store.find_deployment(ns, name) == nullptr) {
    return Error::not_found(fmt::format("deployment '{}' not found in namespace '{}'", name, ns));
  }
  std::vector<model::DeploymentSpec> deployments;
  std::string skipped;  // for all of a namespace: what cannot be rendered is left out and said
  for (const auto* rec : store.list_deployments(ns)) {
    if (!name.empty() && rec->spec.name != name) continue;
    if (auto why = k8s::unrenderable(rec->spec); !why.empty()) {
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
    const bool names_it = std::any_of(spec->rules.begin(), spec->rules.end(), [&](const model::IngressRule& r) {
      return std::any_of(r.paths.begin(), r.paths.end(), [&](const model::IngressPath& p) { return p.deployment == name; });
    });
    if (name.empty() || names_it) ingresses.push_back(*spec);
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
  const k8s::RenderOptions options{local_time_zone_name().value_or("")};
  return skipped + k8s::to_yaml(k8s::objects(deployments, ingresses, policies, options));
}

}  // namespace prisn::control
