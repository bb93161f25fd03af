// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "prisn/core/error.hpp"

namespace prisn::process {

/// An inclusive range of TCP ports.
struct PortRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
};

/// Where host-mode instances get their ports: below Linux's ephemeral range (32768–60999), as
/// Nomad's dynamic ports (20000–32000) are, and below Kubernetes' NodePort range (30000–32767),
/// whose numbers users give as node ports (SPEC's `nodePort: 30080`). A port the kernel hands
/// out for "any free port" or for an outgoing connection would be free to every other program
/// too, between the moment prisnd chose it and the moment the workload binds it; ports here
/// are handed out only by prisnd, so only another prisnd's instance could take one then.
inline constexpr PortRange kInstancePorts{20000, 29999};

/// A TCP port in `range` that can be bound for listening on every IPv4 and IPv6 address right
/// now and is not in `taken`, tried from a random place so that two prisnds on one node seldom
/// try the same one. An error when none is left.
Result<std::uint16_t> pick_free_port(const std::set<std::uint16_t>& taken, PortRange range = kInstancePorts);

/// True when `host:port` can be bound for listening right now.
bool can_bind(const std::string& host, std::uint16_t port);

}  // namespace prisn::process
