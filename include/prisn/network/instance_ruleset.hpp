// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace prisn::network {

/// What an instance's own namespace does with loopback in bridge mode, so that scripts written
/// for one machine keep working in their namespace (SPEC §7.1):
/// - a workload that listens on 127.0.0.1 only is reached on its own address too (the node's
///   health checks and proxies, other instances), as it would be in host mode;
/// - `localhost:PORT` for a port published on the node (another service's, as in host mode)
///   leads to the node, through the gateway.
struct InstanceLoopback {
  std::uint32_t address = 0;  ///< the instance's own address, on its eth0
  std::uint32_t gateway = 0;  ///< where the node's published ports are reached
  /// Ports published on the node. The instance's own ports are left to it: its localhost:PORT
  /// for its own deployment's port is itself.
  std::vector<std::uint16_t> node_ports;
  std::vector<std::uint16_t> own_ports;
};

/// The `ip prisn` table inside the instance's namespace, as one `nft -f` transaction that
/// replaces whatever was there. Inbound connections to the instance's address on a port
/// where no socket listens on that address (nor on the wildcard) are redirected to 127.0.0.1;
/// a workload listening on 0.0.0.0 or its own address is left alone, and sees the real peer.
/// Needs net.ipv4.conf.eth0.route_localnet=1 in the namespace (the kernel drops packets to or
/// from 127.0.0.0/8 on other interfaces without it).
std::string render_instance_ruleset(const InstanceLoopback& loopback);

}  // namespace prisn::network
