// SPDX-License-Identifier: MIT
#include "prisn/network/bridge.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <fstream>
#include <sstream>

#include "prisn/core/log.hpp"
#include "prisn/core/owner_lock.hpp"
#include "prisn/network/command.hpp"

namespace prisn::network {
namespace {

namespace fs = std::filesystem;

auto& log() {
  static auto l = logger("network");
  return l;
}

// Interface names are at most 15 bytes; instance ids ("in-" and 6 hex digits) fit.
std::string host_veth(const std::string& id) { return "pv-" + id.substr(0, 12); }

Result<void> ip_batch(const std::vector<std::string>& commands, const std::string& netns = {}) {
  std::string input;
  for (const auto& c : commands) input += c + "\n";
  std::vector<std::string> argv = {"ip"};
  if (!netns.empty()) argv.insert(argv.end(), {"-n", netns});
  argv.insert(argv.end(), {"-batch", "-"});
  if (auto ran = run_command(argv, input); !ran) return ran.error();
  return {};
}

bool bridge_exists() { return fs::exists(fs::path("/sys/class/net") / Bridge::kName); }

// The IPv4 address on eth0 in an instance namespace, from `ip -j addr`.
Result<std::uint32_t> namespace_address(const std::string& netns) {
  auto out = run_command({"ip", "-j", "-n", netns, "-4", "addr", "show", "dev", "eth0"});
  if (!out) return out.error();
  try {
    for (const auto& link : nlohmann::json::parse(*out)) {
      for (const auto& info : link.at("addr_info")) {
        if (info.value("family", "") == "inet") return parse_ipv4(info.at("local").get<std::string>());
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return Error::internal(fmt::format("ip -j addr in {}: {}", netns, e.what()));
  }
  return Error::not_found(fmt::format("namespace {} has no IPv4 address on eth0", netns));
}

}  // namespace

Result<std::unique_ptr<Bridge>> Bridge::setup(const Subnet& subnet, Destination dns) {
  // One prisnd owns the bridge at a time: two would hand out the same addresses.
  std::error_code ec;
  fs::create_directories("/run/prisn", ec);
  auto lock = OwnerLock::acquire("/run/prisn/bridge.lock", fmt::format("bridge {}", kName));
  if (!lock) return lock.error();
  std::unique_ptr<Bridge> bridge(new Bridge(subnet, dns));
  bridge->lock_ = std::move(*lock);
  std::vector<std::string> commands;
  if (!bridge_exists()) commands.push_back(fmt::format("link add {} type bridge", kName));
  // Flush first: a previous prisnd may have used another subnet.
  commands.push_back(fmt::format("addr flush dev {}", kName));
  commands.push_back(fmt::format("addr add {}/{} dev {}", bridge->gateway(), subnet.prefix, kName));
  commands.push_back(fmt::format("link set {} up", kName));
  if (auto made = ip_batch(commands); !made) {
    return Error::unavailable(fmt::format("cannot set up bridge {}: {}", kName, made.error().message));
  }
  const fs::path conf = fs::path("/proc/sys/net/ipv4/conf") / kName;
  for (const auto& [file, value] : {std::pair{fs::path("/proc/sys/net/ipv4/ip_forward"), "1"},
                                    std::pair{conf / "route_localnet", "1"}}) {
    if (auto set = write_sysctl(file, value); !set) return Error::unavailable(set.error().message);
  }
  // Traffic between two instances is bridged, not routed; only with this does it reach
  // nftables' ip forward hook, where policies are enforced (br_netfilter).
  const fs::path bridge_nf = "/proc/sys/net/bridge/bridge-nf-call-iptables";
  bridge->can_filter_ = fs::exists(bridge_nf) && write_sysctl(bridge_nf, "1").has_value();
  if (!bridge->can_filter_) {
    log()->warn("network policies cannot be enforced: the kernel does not pass bridged traffic to "
                "nftables (load br_netfilter)");
  }
  if (auto installed = bridge->install(); !installed) {
    return Error::unavailable(fmt::format("cannot install the nftables ruleset (is nftables installed?): {}",
                                          installed.error().message));
  }
  return bridge;
}

bool Bridge::privileged() {
  if (::geteuid() != 0) return false;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (!line.starts_with("CapEff:")) continue;
    try {
      constexpr unsigned kCapNetAdmin = 12;  // linux/capability.h
      return ((std::stoull(line.substr(7), nullptr, 16) >> kCapNetAdmin) & 1U) != 0;
    } catch (const std::exception&) {
      return false;
    }
  }
  return false;
}

Bridge::~Bridge() = default;

Result<Attachment> Bridge::attach(const std::string& id, const std::vector<std::uint16_t>& own_ports) {
  auto address = pool_.allocate();
  if (!address) return address.error();
  Attachment a{netns_name(id), netns_path(id), *address};
  auto undo = [&](const Error& e) -> Error {
    (void)run_command({"ip", "netns", "del", a.netns});
    pool_.release(a.address);
    return Error::internal(fmt::format("cannot give instance {} its network: {}", id, e.message));
  };
  if (auto made = run_command({"ip", "netns", "add", a.netns}); !made) return undo(made.error());
  const std::string veth = host_veth(id);
  if (auto linked = ip_batch({fmt::format("link add {} type veth peer name eth0 netns {}", veth, a.netns),
                              fmt::format("link set {} master {} up", veth, kName)});
      !linked) {
    return undo(linked.error());
  }
  if (auto inside = ip_batch({fmt::format("addr add {}/{} dev eth0", format_ipv4(a.address), subnet_.prefix),
                              "link set eth0 up", "link set lo up",
                              fmt::format("route add default via {}", gateway())},
                             a.netns);
      !inside) {
    return undo(inside.error());
  }
  const Attached instance{a.address, own_ports};
  if (auto configured = apply_in_namespace(loopback_ruleset(id, instance)); !configured) {
    return undo(configured.error());
  }
  attached_[id] = instance;
  return a;
}

Result<Attachment> Bridge::adopt(const std::string& id, const std::vector<std::uint16_t>& own_ports) {
  Attachment a{netns_name(id), netns_path(id), 0};
  auto address = namespace_address(a.netns);
  if (!address) return address.error();
  if (!pool_.reserve(*address)) {
    return Error::conflict(fmt::format("instance {}: address {} is outside {} or taken", id,
                                       format_ipv4(*address), subnet_.cidr()));
  }
  a.address = *address;
  // Its ruleset is rewritten with the first set_node_ports(): the node's published ports may
  // have changed while no prisnd ran.
  attached_[id] = Attached{a.address, own_ports};
  return a;
}

NamespaceRuleset Bridge::loopback_ruleset(const std::string& id, const Attached& instance) const {
  auto to_node = node_ports_.value_or(std::vector<std::uint16_t>{});
  // The API too: the seed's workloads call http://localhost:7331 as they would on the node.
  if (redirects_.api.address != 0) to_node.push_back(redirects_.api.port);
  InstanceLoopback loopback{instance.address, subnet_.gateway(), std::move(to_node), instance.own_ports};
  return {netns_path(id), render_instance_ruleset(loopback)};
}

void Bridge::set_node_ports(std::vector<std::uint16_t> ports) {
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  if (node_ports_ == ports) return;
  node_ports_ = std::move(ports);
  rewrite_loopbacks();
}

void Bridge::rewrite_loopbacks() {
  std::vector<NamespaceRuleset> batch;
  for (const auto& [id, instance] : attached_) batch.push_back(loopback_ruleset(id, instance));
  updater_.submit(std::move(batch));
}

void Bridge::detach(const std::string& id) {
  auto it = attached_.find(id);
  if (it != attached_.end()) {
    pool_.release(it->second.address);
    attached_.erase(it);
  }
  remove_namespace(id);
}

void Bridge::remove_namespace(const std::string& id) {
  if (!fs::exists(netns_path(id))) return;
  if (auto deleted = run_command({"ip", "netns", "del", netns_name(id)}); !deleted) {
    log()->warn("instance {}: {}", id, deleted.error().message);
  }
}

void Bridge::remove_stale(const std::set<std::string>& keep) {
  // Veths first: an instance left running by a prisnd that was killed keeps its namespace
  // (and its address) while it runs; cutting its link is what frees the address.
  std::set<std::string> kept_links;
  for (const auto& id : keep) kept_links.insert(host_veth(id));
  if (auto links = run_command({"ip", "-j", "link", "show", "master", kName}); links) {
    try {
      for (const auto& link : nlohmann::json::parse(links->empty() ? "[]" : *links)) {
        const auto name = link.value("ifname", "");
        if (!name.starts_with("pv-") || kept_links.contains(name)) continue;
        log()->info("removing {}, the link of an instance that is gone", name);
        (void)run_command({"ip", "link", "del", name});
      }
    } catch (const nlohmann::json::exception& e) {
      log()->warn("cannot read the links on {}: {}", kName, e.what());
    }
  }
  auto listed = run_command({"ip", "netns", "list"});
  if (!listed) {
    log()->warn("cannot list network namespaces: {}", listed.error().message);
    return;
  }
  std::istringstream lines(*listed);
  std::string line;
  while (std::getline(lines, line)) {
    const std::string name = line.substr(0, line.find(' '));  // "prisn-in-1a2b3c (id: 3)"
    if (!name.starts_with("prisn-") || keep.contains(name.substr(6))) continue;
    log()->info("removing network namespace {}, left by an instance that is gone", name);
    (void)run_command({"ip", "netns", "del", name});
  }
}

Result<void> Bridge::redirect_api(Destination api) {
  redirects_.api = api;
  if (node_ports_) rewrite_loopbacks();  // else the first set_node_ports() writes them
  return install();
}

Result<void> Bridge::enforce(const std::vector<GuardedTarget>& targets, const RunCgroups& runs) {
  targets_ = can_filter_ ? targets : std::vector<GuardedTarget>{};
  runs_ = runs;
  return install();
}

Result<void> Bridge::install() {
  const std::string ruleset = render_ruleset(subnet_, kName, redirects_, targets_, runs_);
  if (ruleset == installed_) return {};
  if (auto applied = run_nft(ruleset); !applied) return applied.error();
  installed_ = ruleset;
  return {};
}

void Bridge::teardown() {
  if (auto removed = run_nft(render_ruleset_removal()); !removed) {
    log()->warn("cannot remove the nftables ruleset: {}", removed.error().message);
  }
  installed_.clear();
}

}  // namespace prisn::network
