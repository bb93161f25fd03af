// SPDX-License-Identifier: MIT
// Controller: network policies enforced on the bridge (SPEC §7.6).
#include <fmt/format.h>

#include <algorithm>

#include "control/controller_impl.hpp"
#include "prisn/core/log.hpp"
#include "prisn/process/cgroups.hpp"

namespace prisn::control {
namespace {

constexpr const char* kHostMode =
    "not enforced: prisnd runs in host network mode, where instances share the node's network; "
    "policies are enforced with nftables in bridge mode";
constexpr const char* kNoBridgeFilter =
    "not enforced: the kernel does not pass bridged traffic to nftables (load br_netfilter and "
    "restart prisnd)";

void append_unique(std::vector<std::uint16_t>& to, std::uint16_t port) {
  if (std::find(to.begin(), to.end(), port) == to.end()) to.push_back(port);
}

}  // namespace

std::vector<std::uint32_t> Controller::Impl::instance_addresses(const std::string& ns, const std::string& name) const {
  std::vector<std::uint32_t> out;
  for (const auto& ep : services.endpoints(ns, name)) {
    // Every instance, healthy or not: a policy guards what runs, not what is in rotation.
    if (auto address = network::parse_ipv4(ep.ip)) out.push_back(*address);
  }
  return out;
}

std::vector<network::GuardedTarget> Controller::Impl::guarded_targets() const {
  std::map<Key, network::GuardedTarget> by_target;
  for (const auto* rec : ctx.store.list_resources("NetworkPolicy", "")) {
    auto policy = model::decode_network_policy(rec->spec, {});
    if (!policy) continue;
    const Key key{policy->ns, policy->target};
    auto& target = by_target[key];
    if (target.label.empty()) {
      target.label = fmt::format("{}/{}", key.first, key.second);
      target.addresses = instance_addresses(key.first, key.second);
    }
    const auto* deployment = ctx.store.find_deployment(key.first, key.second);
    for (const auto& rule : policy->ingress) {
      network::Allowance allow;
      for (const auto& from : rule.from) {
        auto sources = instance_addresses(policy->ns, from);
        allow.sources.insert(allow.sources.end(), sources.begin(), sources.end());
        allow.run_groups.push_back(process::Cgroups::run_group(policy->ns, from));
      }
      allow.ports = rule.ports;
      // The node ports that lead to an allowed port: a published port listens on the node
      // and forwards to the deployment's port at its index.
      for (const auto& [listener, pub] : published) {
        if (pub.deployment != key || deployment == nullptr || pub.port_index >= deployment->spec.ports.size()) {
          continue;
        }
        const auto to_port = deployment->spec.ports[pub.port_index].port;
        if (rule.ports.empty() || std::find(rule.ports.begin(), rule.ports.end(), to_port) != rule.ports.end()) {
          append_unique(allow.node_ports, pub.port);
        }
      }
      target.allowed.push_back(std::move(allow));
    }
    for (const auto& [listener, pub] : published) {
      if (pub.deployment == key) append_unique(target.node_ports, pub.port);
    }
  }
  std::vector<network::GuardedTarget> out;
  for (auto& [key, target] : by_target) out.push_back(std::move(target));
  return out;
}

std::shared_ptr<const proxy::SourcePolicy> Controller::Impl::router_policy(const std::string& ns,
                                                                         const std::string& name,
                                                                         std::uint16_t port) const {
  if (ctx.bridge == nullptr || !ctx.bridge->can_filter()) return nullptr;
  std::shared_ptr<proxy::SourcePolicy> out;
  for (const auto* rec : ctx.store.list_resources("NetworkPolicy", ns)) {
    auto policy = model::decode_network_policy(rec->spec, {});
    if (!policy || policy->target != name) continue;
    if (!out) {
      const auto& subnet = ctx.bridge->subnet();
      out = std::make_shared<proxy::SourcePolicy>();
      out->subnet = subnet.network;
      out->mask = subnet.mask();
      out->gateway = subnet.gateway();
    }
    for (const auto& rule : policy->ingress) {
      if (!rule.ports.empty() && std::find(rule.ports.begin(), rule.ports.end(), port) == rule.ports.end()) continue;
      for (const auto& from : rule.from) {
        auto sources = instance_addresses(ns, from);
        out->allowed.insert(out->allowed.end(), sources.begin(), sources.end());
      }
    }
  }
  if (out) std::sort(out->allowed.begin(), out->allowed.end());
  return out;
}

// The groups of the allowed deployments' runs must exist for nft to name them; a run
// started later goes into the same one (never removed while prisnd runs, or the filter would
// name a cgroup that is gone). Without cgroups, runs are not filtered.
network::RunCgroups Controller::Impl::run_cgroups_for(std::vector<network::GuardedTarget>& targets) const {
  if (!ctx.cgroups.available()) {
    for (auto& target : targets) {
      for (auto& allow : target.allowed) allow.run_groups.clear();
    }
    return {};
  }
  for (auto& target : targets) {
    for (auto& allow : target.allowed) {
      std::erase_if(allow.run_groups, [&](const std::string& group) {
        auto made = ctx.cgroups.ensure_group(group);
        if (!made) logger("control")->warn("network policies: runs of {} are not let through: {}", group, made.error().message);
        return !made;
      });
    }
  }
  return network::run_cgroups(ctx.cgroups.mount(), ctx.cgroups.base());
}

void Controller::Impl::enforce_policies() {
  if (ctx.bridge == nullptr) return;
  auto targets = guarded_targets();
  const auto runs = run_cgroups_for(targets);
  if (auto applied = ctx.bridge->enforce(targets, runs); !applied) {
    if (policy_failure != applied.error().message) {
      logger("control")->error("network policies: cannot install the nftables rules: {}", applied.error().message);
    }
    policy_failure = applied.error().message;
    return;
  }
  policy_failure.clear();
}

std::optional<std::string> Controller::Impl::policy_not_enforced() const {
  if (ctx.bridge == nullptr) return kHostMode;
  if (!ctx.bridge->can_filter()) return kNoBridgeFilter;
  if (!policy_failure.empty()) return "not enforced: the nftables rules could not be installed: " + policy_failure;
  return std::nullopt;
}

}  // namespace prisn::control
