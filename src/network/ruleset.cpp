// SPDX-License-Identifier: MIT
#include "prisn/network/ruleset.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <tuple>

namespace prisn::network {
namespace {

constexpr std::string_view kTable = "ip prisn";

template <class T, class Format>
std::string set_of(const std::vector<T>& items, Format format) {
  std::set<T> sorted(items.begin(), items.end());  // stable text: unchanged rules, unchanged ruleset
  std::string out = "{ ";
  bool first = true;
  for (const auto& item : sorted) {
    if (!first) out += ", ";
    out += format(item);
    first = false;
  }
  return out + " }";
}

std::string addresses(const std::vector<std::uint32_t>& items) { return set_of(items, format_ipv4); }

void render_target(std::string& out, const GuardedTarget& target) {
  if (target.addresses.empty()) return;
  const std::string to = addresses(target.addresses);
  out += fmt::format("    # {}\n", target.label);
  for (const auto& allow : target.allowed) {
    if (allow.sources.empty()) continue;
    out += fmt::format("    ip daddr {} ip saddr {}", to, addresses(allow.sources));
    if (!allow.ports.empty()) out += fmt::format(" meta l4proto {{ tcp, udp }} th dport {}", nft_port_set(allow.ports));
    out += " accept\n";
  }
  out += fmt::format("    ip daddr {} drop\n", to);
}

// Connections from instances (through the bridge) to a target's published ports on the node.
void render_node_ports(std::string& out, std::string_view bridge, const GuardedTarget& target) {
  if (target.node_ports.empty()) return;
  out += fmt::format("    # {}\n", target.label);
  for (const auto& allow : target.allowed) {
    if (allow.sources.empty() || allow.node_ports.empty()) continue;
    out += fmt::format("    iifname \"{}\" ip saddr {} tcp dport {} accept\n", bridge, addresses(allow.sources),
                       nft_port_set(allow.node_ports));
  }
  out += fmt::format("    iifname \"{}\" tcp dport {} drop\n", bridge, nft_port_set(target.node_ports));
}

}  // namespace

std::string nft_port_set(const std::vector<std::uint16_t>& items) {
  return set_of(items, [](std::uint16_t p) { return std::to_string(p); });
}

std::string render_ruleset(const Subnet& subnet, std::string_view bridge, const Redirects& redirects,
                           const std::vector<GuardedTarget>& targets) {
  // Declaring the table first makes the delete valid when it does not exist yet.
  std::string out = fmt::format("table {0} {{}}\ndelete table {0}\ntable {0} {{\n", kTable);
  const std::string gateway = format_ipv4(subnet.gateway());
  const std::string from_bridge = fmt::format("iifname \"{}\" ", bridge);
  auto dnat = [&](std::string_view from, std::string_view proto, std::uint16_t port, const Destination& to) {
    out += fmt::format("    {}ip daddr {} {} dport {} dnat to {}:{}\n", from, gateway, proto, port,
                       format_ipv4(to.address), to.port);
  };
  if (redirects.dns.address != 0 || redirects.api.address != 0) {
    // (nft names the dstnat priority only for prerouting; -100 is its value.)
    out += "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n";
    if (redirects.dns.address != 0) {
      for (const char* proto : {"udp", "tcp"}) dnat(from_bridge, proto, 53, redirects.dns);
    }
    if (redirects.api.address != 0) dnat(from_bridge, "tcp", redirects.api.port, redirects.api);
    out += "  }\n";
  }
  if (redirects.dns.address != 0) {  // runs on the node use the same resolv.conf
    out += "  chain output {\n    type nat hook output priority -100; policy accept;\n";
    for (const char* proto : {"udp", "tcp"}) dnat("", proto, 53, redirects.dns);
    out += "  }\n";
  }
  out += "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n";
  out += fmt::format("    ip saddr {} oifname != \"{}\" masquerade\n  }}\n", subnet.cidr(), bridge);
  out += "  chain forward {\n    type filter hook forward priority filter; policy accept;\n";
  out += "    ct state established,related accept\n";
  for (const auto& target : targets) render_target(out, target);
  out += "  }\n  chain input {\n    type filter hook input priority filter; policy accept;\n";
  out += "    ct state established,related accept\n";
  for (const auto& target : targets) render_node_ports(out, bridge, target);
  out += "  }\n}\n";
  return out;
}

std::string render_ruleset_removal() { return fmt::format("table {0} {{}}\ndelete table {0}\n", kTable); }

}  // namespace prisn::network
