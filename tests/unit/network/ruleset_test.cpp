// SPDX-License-Identifier: MIT
#include "prisn/network/ruleset.hpp"

#include <gtest/gtest.h>

namespace prisn::network {
namespace {

std::uint32_t ip(const char* text) { return *parse_ipv4(text); }

const Subnet kSubnet = *Subnet::parse("10.209.0.0/16");

TEST(Ruleset, ReplacesTheTableInOneTransactionAndMasqueradesLeavingTraffic) {
  const auto text = render_ruleset(kSubnet, "prisn0", {}, {});
  EXPECT_EQ(text.find("table ip prisn {}\ndelete table ip prisn\ntable ip prisn {\n"), 0U) << text;
  EXPECT_NE(text.find("ip saddr 10.209.0.0/16 oifname != \"prisn0\" masquerade"), std::string::npos) << text;
  EXPECT_NE(text.find("ct state established,related accept"), std::string::npos) << text;
  EXPECT_EQ(text.find("drop"), std::string::npos) << text;
  EXPECT_EQ(text.find("dnat"), std::string::npos) << text;
}

TEST(Ruleset, RedirectsTheGatewaysDnsPortToPrisnDns) {
  const auto text = render_ruleset(kSubnet, "prisn0", {.dns = {ip("127.0.0.1"), 40001}}, {});
  EXPECT_NE(text.find("iifname \"prisn0\" ip daddr 10.209.0.1 udp dport 53 dnat to 127.0.0.1:40001"), std::string::npos)
      << text;
  EXPECT_NE(text.find("iifname \"prisn0\" ip daddr 10.209.0.1 tcp dport 53 dnat to 127.0.0.1:40001"), std::string::npos)
      << text;
  // Runs on the node use the same resolv.conf; their queries leave through the output hook.
  EXPECT_NE(text.find("type nat hook output priority -100; policy accept;\n"
                      "    ip daddr 10.209.0.1 udp dport 53 dnat to 127.0.0.1:40001"),
            std::string::npos)
      << text;
}

TEST(Ruleset, RedirectsTheGatewaysApiPortFromInstancesOnly) {
  const auto text = render_ruleset(kSubnet, "prisn0", {.api = {ip("127.0.0.1"), 43121}}, {});
  EXPECT_NE(text.find("iifname \"prisn0\" ip daddr 10.209.0.1 tcp dport 43121 dnat to 127.0.0.1:43121"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("dport 53"), std::string::npos) << text;
  EXPECT_EQ(text.find("hook output"), std::string::npos) << text;  // runs on the node use loopback
}

TEST(Ruleset, LetsOnlyTheAllowedSourcesReachAGuardedTarget) {
  GuardedTarget db{"default/db", {ip("10.209.0.5"), ip("10.209.0.4")},
                   {{{ip("10.209.0.2")}, {5432}}, {{ip("10.209.0.3")}, {}}}};
  const auto text = render_ruleset(kSubnet, "prisn0", {}, {db});
  const auto port_rule = text.find(
      "ip daddr { 10.209.0.4, 10.209.0.5 } ip saddr { 10.209.0.2 } meta l4proto { tcp, udp } th dport { 5432 } accept");
  const auto any_port_rule = text.find("ip daddr { 10.209.0.4, 10.209.0.5 } ip saddr { 10.209.0.3 } accept");
  const auto drop = text.find("ip daddr { 10.209.0.4, 10.209.0.5 } drop");
  const auto established = text.find("ct state established,related accept");
  ASSERT_NE(port_rule, std::string::npos) << text;
  ASSERT_NE(any_port_rule, std::string::npos) << text;
  ASSERT_NE(drop, std::string::npos) << text;
  EXPECT_LT(established, port_rule);  // replies to allowed connections pass first
  EXPECT_LT(any_port_rule, drop);     // the drop comes after every allowance
  EXPECT_NE(text.find("# default/db"), std::string::npos);
}

TEST(Ruleset, ATargetWithoutInstancesNeedsNoRuleAndASourceWithoutInstancesAllowsNothing) {
  GuardedTarget empty{"default/idle", {}, {{{ip("10.209.0.2")}, {}}}};
  GuardedTarget db{"default/db", {ip("10.209.0.4")}, {{{}, {5432}}}};
  const auto text = render_ruleset(kSubnet, "prisn0", {}, {empty, db});
  EXPECT_EQ(text.find("default/idle"), std::string::npos) << text;
  EXPECT_EQ(text.find("accept\n    ip daddr { 10.209.0.4 } drop"), std::string::npos) << text;
  EXPECT_NE(text.find("    # default/db\n    ip daddr { 10.209.0.4 } drop\n"), std::string::npos) << text;
}

TEST(Ruleset, GuardsATargetsNodePortsAgainstInstancesOnTheBridge) {
  GuardedTarget db{"default/db", {ip("10.209.0.4")}, {{{ip("10.209.0.2")}, {5432}, {5432, 30432}}}, {5432, 30432, 9000}};
  const auto text = render_ruleset(kSubnet, "prisn0", {}, {db});
  const auto input = text.find("chain input {\n    type filter hook input priority filter; policy accept;\n"
                               "    ct state established,related accept\n");
  const auto allow = text.find("iifname \"prisn0\" ip saddr { 10.209.0.2 } tcp dport { 5432, 30432 } accept");
  const auto drop = text.find("iifname \"prisn0\" tcp dport { 5432, 9000, 30432 } drop");
  ASSERT_NE(input, std::string::npos) << text;
  ASSERT_NE(allow, std::string::npos) << text;
  ASSERT_NE(drop, std::string::npos) << text;
  EXPECT_LT(input, allow);
  EXPECT_LT(allow, drop);
}

TEST(Ruleset, NamesTheRunsSubtreeFromSysFsCgroupAtItsDepthInTheHierarchy) {
  const auto unified = run_cgroups("/sys/fs/cgroup", "/sys/fs/cgroup/system.slice/prisnd.service/prisn-0a1b");
  EXPECT_EQ(unified.path, "system.slice/prisnd.service/prisn-0a1b");
  EXPECT_EQ(unified.level, 3);
  // A hybrid system mounts v2 below /sys/fs/cgroup: nft finds it there, the level is v2's own.
  const auto hybrid = run_cgroups("/sys/fs/cgroup/unified", "/sys/fs/cgroup/unified/prisn-0a1b");
  EXPECT_EQ(hybrid.path, "unified/prisn-0a1b");
  EXPECT_EQ(hybrid.level, 1);
  EXPECT_TRUE(run_cgroups("/sys/fs/cgroup", "").path.empty());
}

TEST(Ruleset, LetsOnlyTheAllowedDeploymentsRunsReachAGuardedTarget) {
  Allowance allow{{ip("10.209.0.2")}, {5432}, {30432}, {"runs.default.api"}};
  GuardedTarget db{"default/db", {ip("10.209.0.4")}, {allow}, {30432, 9000}};
  const auto text = render_ruleset(kSubnet, "prisn0", {}, {db}, {"prisn-0a1b", 1});
  const auto hook = text.find("chain run_output {\n    type filter hook output priority filter; policy accept;\n"
                              "    socket cgroupv2 level 1 \"prisn-0a1b\" jump from_runs\n  }\n");
  const auto chain = text.find("chain from_runs {\n    ct state established,related accept\n    # default/db\n");
  const auto allowed = text.find(
      "ip daddr { 10.209.0.4 } socket cgroupv2 level 2 \"prisn-0a1b/runs.default.api\" meta l4proto { tcp, udp } th "
      "dport { 5432 } accept\n    ip daddr { 10.209.0.4 } drop\n");
  const auto node_allowed =
      text.find("fib daddr type local tcp dport { 30432 } socket cgroupv2 level 2 \"prisn-0a1b/runs.default.api\" accept\n"
                "    fib daddr type local tcp dport { 9000, 30432 } drop\n");
  ASSERT_NE(hook, std::string::npos) << text;
  ASSERT_NE(chain, std::string::npos) << text;
  ASSERT_NE(allowed, std::string::npos) << text;
  ASSERT_NE(node_allowed, std::string::npos) << text;
  EXPECT_LT(chain, allowed);
}

TEST(Ruleset, FiltersNoRunWithoutACgroupSubtreeOrAGuardedTarget) {
  Allowance allow{{ip("10.209.0.2")}, {}, {}, {"runs.default.api"}};
  GuardedTarget db{"default/db", {ip("10.209.0.4")}, {allow}, {}};
  EXPECT_EQ(render_ruleset(kSubnet, "prisn0", {}, {db}).find("cgroupv2"), std::string::npos);
  EXPECT_EQ(render_ruleset(kSubnet, "prisn0", {}, {}, {"prisn-0a1b", 1}).find("run_output"), std::string::npos);
  GuardedTarget idle{"default/idle", {}, {allow}, {}};
  EXPECT_EQ(render_ruleset(kSubnet, "prisn0", {}, {idle}, {"prisn-0a1b", 1}).find("run_output"), std::string::npos);
}

TEST(Ruleset, IsTheSameTextForTheSameRulesInAnyOrder) {
  GuardedTarget a{"default/db", {ip("10.209.0.4"), ip("10.209.0.5")}, {{{ip("10.209.0.3"), ip("10.209.0.2")}, {80, 443}}}};
  GuardedTarget b{"default/db", {ip("10.209.0.5"), ip("10.209.0.4")}, {{{ip("10.209.0.2"), ip("10.209.0.3")}, {443, 80}}}};
  EXPECT_EQ(render_ruleset(kSubnet, "prisn0", {}, {a}), render_ruleset(kSubnet, "prisn0", {}, {b}));
}

TEST(Ruleset, RemovalIsValidWhetherOrNotTheTableExists) {
  EXPECT_EQ(render_ruleset_removal(), "table ip prisn {}\ndelete table ip prisn\n");
}

}  // namespace
}  // namespace prisn::network
