// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "prisn/core/error.hpp"
#include "prisn/core/owner_lock.hpp"
#include "prisn/network/instance_ruleset.hpp"
#include "prisn/network/namespace_updater.hpp"
#include "prisn/network/ruleset.hpp"
#include "prisn/network/subnet.hpp"

namespace prisn::network {

/// An instance's place on the bridge: its network namespace and its address.
struct Attachment {
  std::string netns;               ///< "prisn-in-1a2b3c", as `ip netns list` shows it
  std::filesystem::path netns_path;  ///< /run/netns/NAME, for setns(2)
  std::uint32_t address = 0;
};

/// Bridge networking (SPEC §7.1): the bridge `prisn0` holding the subnet's gateway address,
/// one network namespace per instance joined to it by a veth pair (eth0 inside, `pv-ID` on
/// the bridge), outbound NAT, and the nftables filter that enforces network policies.
///
/// The node's state is the truth: an instance namespace is named after the instance id, so a
/// restarted prisnd finds the namespaces of the instances it re-adopts (and their addresses)
/// and deletes the others. Requires root (CAP_NET_ADMIN), iproute2 and nftables.
/// Thread: control thread.
class Bridge {
 public:
  static constexpr const char* kName = "prisn0";

  /// Creates the bridge (or takes over the one a previous prisnd left; one prisnd at a time
  /// owns it, a second gets a conflict error), gives it the gateway
  /// address, turns on forwarding and installs the ruleset. `dns`: where the gateway's port
  /// 53 is redirected, so that workloads' resolv.conf can name the gateway.
  static Result<std::unique_ptr<Bridge>> setup(const Subnet& subnet, Destination dns);
  ~Bridge();
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  const Subnet& subnet() const { return subnet_; }
  std::string gateway() const { return format_ipv4(subnet_.gateway()); }
  /// False when the kernel cannot pass bridged traffic to nftables (no br_netfilter): then
  /// policies cannot be enforced, and say so.
  bool can_filter() const { return can_filter_; }

  /// A new namespace for instance `id` with the lowest free address, joined to the bridge.
  /// `own_ports`: its deployment's ports (see InstanceLoopback).
  Result<Attachment> attach(const std::string& id, const std::vector<std::uint16_t>& own_ports);
  /// The namespace a previous prisnd made for instance `id`, with its address reserved.
  Result<Attachment> adopt(const std::string& id, const std::vector<std::uint16_t>& own_ports);
  /// Deletes the instance's namespace (its veth pair goes with it) and frees its address.
  void detach(const std::string& id);
  /// Deletes instance namespaces whose instance id is not in `keep` (left by a crash).
  void remove_stale(const std::set<std::string>& keep);

  /// Redirects the gateway's port `api.port` to the API (bound after the bridge is set up),
  /// and `localhost:api.port` in every instance to it.
  Result<void> redirect_api(Destination api);
  /// The ports published on the node, which `localhost:PORT` in every instance leads to;
  /// when they change, every namespace is rewritten in the background (NamespaceUpdater).
  void set_node_ports(std::vector<std::uint16_t> ports);
  /// Installs the policy filter for these targets, and for runs in the `runs` subtree;
  /// nothing is run when it is unchanged.
  Result<void> enforce(const std::vector<GuardedTarget>& targets, const RunCgroups& runs);
  /// Removes the ruleset (graceful shutdown, once no instance is left). The bridge stays,
  /// as docker0 does.
  void teardown();

  /// Whether this process may set up the bridge: root with CAP_NET_ADMIN in effect (SPEC §2's
  /// condition for bridge being the default).
  static bool privileged();

  static std::string netns_name(const std::string& id) { return "prisn-" + id; }
  static std::filesystem::path netns_path(const std::string& id) { return "/run/netns/" + netns_name(id); }
  /// Deletes instance `id`'s namespace, if any, with no bridge at hand: a prisnd in host mode
  /// cleaning up after one that ran in bridge mode.
  static void remove_namespace(const std::string& id);

 private:
  Bridge(Subnet subnet, Destination dns) : subnet_(subnet), redirects_{dns, {}}, pool_(subnet) {}
  Result<void> install();
  struct Attached {
    std::uint32_t address = 0;
    std::vector<std::uint16_t> own_ports;
  };
  /// Loopback in the instance's namespace as InstanceLoopback says, with the node ports now
  /// and the API's.
  NamespaceRuleset loopback_ruleset(const std::string& id, const Attached& instance) const;
  /// Rewrites every instance's loopback ruleset in the background (NamespaceUpdater).
  void rewrite_loopbacks();

  Subnet subnet_;
  Redirects redirects_;
  std::vector<GuardedTarget> targets_;
  RunCgroups runs_;
  AddressPool pool_;
  bool can_filter_ = false;
  std::map<std::string, Attached> attached_;       ///< by instance id
  /// Sorted; unset until the first set_node_ports(), which rewrites adopted namespaces too.
  std::optional<std::vector<std::uint16_t>> node_ports_;
  std::string installed_;                          ///< the ruleset last installed
  OwnerLock lock_;                                 ///< held while this prisnd owns the bridge
  NamespaceUpdater updater_;                       ///< last: stopped before the rest goes
};

}  // namespace prisn::network
