// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "prisn/network/subnet.hpp"

namespace prisn::network {

/// Who may open connections to a guarded deployment's instances: these source addresses,
/// on these ports (none = every port).
struct Allowance {
  std::vector<std::uint32_t> sources;
  std::vector<std::uint16_t> ports;
  /// The node ports (published by the L4 proxy) that lead to the allowed ports.
  std::vector<std::uint16_t> node_ports;
  /// The cgroup groups (in `RunCgroups`' subtree) of the allowed deployments' runs.
  std::vector<std::string> run_groups;
};

/// A deployment that one or more network policies name as their target (SPEC §7.6).
struct GuardedTarget {
  std::string label;  ///< "default/db", for the operator reading `nft list table ip prisn`
  std::vector<std::uint32_t> addresses;  ///< its instances
  std::vector<Allowance> allowed;
  /// Its ports published on the node: instances reach them through the gateway, so they are
  /// guarded too, or a policy would be one connection to the gateway away from bypassed.
  std::vector<std::uint16_t> node_ports;
};

/// The cgroup subtree that holds prisnd's runs, as nftables names a cgroup: `path` from
/// /sys/fs/cgroup (where nft looks it up, whatever the mount), `level` its depth in the cgroup
/// v2 hierarchy. Runs (`prisn run`, jobs, cron) use the node's network, so their connections
/// leave through the output hook and never cross the bridge; the cgroup of the socket tells
/// whose run opened one. Empty `path`: runs are not filtered (no cgroup v2 hierarchy).
struct RunCgroups {
  std::string path;
  int level = 0;
};

/// `subtree` (a directory under the cgroup v2 `mount`) as nftables names it.
RunCgroups run_cgroups(const std::filesystem::path& mount, const std::filesystem::path& subtree);

/// A listener of prisnd on the node that instances reach through the gateway.
struct Destination {
  std::uint32_t address = 0;  ///< 0 = none
  std::uint16_t port = 0;
};

/// What the gateway's ports lead to. `dns`: the gateway's port 53 (UDP and TCP), from
/// instances and from runs on the node alike, so resolv.conf can name the gateway. `api`: the
/// gateway's port of the same number as the API's (TCP, from instances), so PRISN_API works
/// inside an instance's namespace, where the node's loopback is not reachable.
struct Redirects {
  Destination dns;
  Destination api;
};

/// The whole `ip prisn` nftables table, as one `nft -f` transaction that replaces whatever
/// was there: masquerading for traffic leaving the subnet other than through the bridge, the
/// redirects of the gateway's ports to prisn DNS and the API wherever they listen (127.0.0.1
/// included: the bridge gets route_localnet), and a forward filter that lets only the allowed sources
/// open connections to guarded instances (replies to allowed connections pass by conntrack). Traffic between instances
/// crosses the bridge; the kernel hands it to this filter because prisnd turns on
/// net.bridge.bridge-nf-call-iptables. The node's own connections (health checks, the proxy)
/// are not forwarded, so they are never filtered; an input filter on the bridge guards the
/// targets' node ports against instances, and an output filter guards the targets' instances
/// and node ports against runs, by the cgroup of their sockets (`runs`).
std::string render_ruleset(const Subnet& subnet, std::string_view bridge, const Redirects& redirects,
                           const std::vector<GuardedTarget>& targets, const RunCgroups& runs = {});

/// Ports as an nftables anonymous set, "{ 80, 443 }", sorted (the same text for the same ports).
std::string nft_port_set(const std::vector<std::uint16_t>& items);

/// The transaction that removes the table (graceful shutdown).
std::string render_ruleset_removal();

}  // namespace prisn::network
