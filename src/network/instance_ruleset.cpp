// SPDX-License-Identifier: MIT
#include "prisn/network/instance_ruleset.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "prisn/network/ruleset.hpp"
#include "prisn/network/subnet.hpp"

namespace prisn::network {

std::string render_instance_ruleset(const InstanceLoopback& loopback) {
  constexpr std::string_view kTable = "ip prisn";
  const std::string self = format_ipv4(loopback.address);
  std::string out = fmt::format("table {0} {{}}\ndelete table {0}\ntable {0} {{\n", kTable);
  // `socket` finds the socket the connection's first packet would reach (a listener on this
  // address or the wildcard, for TCP; a bound socket, for UDP): then nothing is changed.
  out += "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n";
  out += fmt::format("    iifname \"eth0\" ip daddr {} meta l4proto {{ tcp, udp }} socket transparent 0 accept\n", self);
  out += fmt::format("    iifname \"eth0\" ip daddr {} meta l4proto {{ tcp, udp }} dnat to 127.0.0.1\n  }}\n", self);
  std::vector<std::uint16_t> to_node;
  std::copy_if(loopback.node_ports.begin(), loopback.node_ports.end(), std::back_inserter(to_node), [&](auto port) {
    return std::find(loopback.own_ports.begin(), loopback.own_ports.end(), port) == loopback.own_ports.end();
  });
  if (!to_node.empty()) {
    out += "  chain output {\n    type nat hook output priority -100; policy accept;\n";
    out += fmt::format("    ip daddr 127.0.0.0/8 tcp dport {} dnat to {}\n  }}\n", nft_port_set(to_node),
                       format_ipv4(loopback.gateway));
  }
  // Redirected to the node, a connection from 127.0.0.1 leaves on eth0: it must carry the
  // instance's address (which the node's policies filter on), not loopback's.
  out += "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n";
  out += "    ip saddr 127.0.0.0/8 oifname \"eth0\" masquerade\n  }\n}\n";
  return out;
}

}  // namespace prisn::network
