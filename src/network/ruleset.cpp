// SPDX-License-Identifier: MIT
#include "prisn/network/ruleset.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
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

// Runs' connections to a target's instances and to its ports published on the node.
std::string run_rules(const RunCgroups& runs, const GuardedTarget& target) {
  std::string out;
  auto from = [&](const std::string& group) {
    return fmt::format("socket cgroupv2 level {} \"{}/{}\"", runs.level + 1, runs.path, group);
  };
  if (!target.addresses.empty()) {
    const std::string to = addresses(target.addresses);
    for (const auto& allow : target.allowed) {
      for (const auto& group : allow.run_groups) {
        out += fmt::format("    ip daddr {} {}", to, from(group));
        if (!allow.ports.empty()) out += fmt::format(" meta l4proto {{ tcp, udp }} th dport {}", nft_port_set(allow.ports));
        out += " accept\n";
      }
    }
    out += fmt::format("    ip daddr {} drop\n", to);
  }
  if (!target.node_ports.empty()) {
    for (const auto& allow : target.allowed) {
      if (allow.node_ports.empty()) continue;
      for (const auto& group : allow.run_groups) {
        out += fmt::format("    fib daddr type local tcp dport {} {} accept\n", nft_port_set(allow.node_ports), from(group));
      }
    }
    out += fmt::format("    fib daddr type local tcp dport {} drop\n", nft_port_set(target.node_ports));
  }
  return out.empty() ? out : fmt::format("    # {}\n{}", target.label, out);
}

void render_run_filter(std::string& out, const RunCgroups& runs, const std::vector<GuardedTarget>& targets) {
  if (runs.path.empty()) return;
  std::string rules;
  for (const auto& target : targets) rules += run_rules(runs, target);
  if (rules.empty()) return;
  out += "  chain run_output {\n    type filter hook output priority filter; policy accept;\n";
  out += fmt::format("    socket cgroupv2 level {} \"{}\" jump from_runs\n  }}\n", runs.level, runs.path);
  out += "  chain from_runs {\n    ct state established,related accept\n" + rules + "  }\n";
}

}  // namespace

RunCgroups run_cgroups(const std::filesystem::path& mount, const std::filesystem::path& subtree) {
  if (subtree.empty()) return {};
  RunCgroups out;
  out.path = subtree.lexically_relative("/sys/fs/cgroup").string();
  const auto in_hierarchy = subtree.lexically_relative(mount);
  out.level = static_cast<int>(std::distance(in_hierarchy.begin(), in_hierarchy.end()));
  return out;
}

std::string nft_port_set(const std::vector<std::uint16_t>& items) {
  return set_of(items, [](std::uint16_t p) { return std::to_string(p); });
}

std::string render_ruleset(const Subnet& subnet, std::string_view bridge, const Redirects& redirects,
                           const std::vector<GuardedTarget>& targets, const RunCgroups& runs) {
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
  out += "  }\n";
  render_run_filter(out, runs, targets);
  out += "}\n";
  return out;
}

std::string render_ruleset_removal() { return fmt::format("table {0} {{}}\ndelete table {0}\n", kTable); }

}  // namespace prisn::network
