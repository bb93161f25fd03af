// SPDX-License-Identifier: MIT
#include "prisn/network/instance_ruleset.hpp"

#include <gtest/gtest.h>

#include "prisn/network/subnet.hpp"

namespace prisn::network {
namespace {

InstanceLoopback loopback(std::vector<std::uint16_t> node_ports, std::vector<std::uint16_t> own_ports) {
  return {*parse_ipv4("10.209.0.7"), *parse_ipv4("10.209.0.1"), std::move(node_ports), std::move(own_ports)};
}

TEST(InstanceRuleset, ReplacesTheTableInOneTransaction) {
  const auto text = render_instance_ruleset(loopback({}, {}));
  EXPECT_EQ(text.find("table ip prisn {}\ndelete table ip prisn\ntable ip prisn {\n"), 0U) << text;
  EXPECT_EQ(text.back(), '\n');
}

TEST(InstanceRuleset, RedirectsItsOwnAddressToLoopbackOnlyWhereNoSocketTakesIt) {
  const auto text = render_instance_ruleset(loopback({}, {8080}));
  const auto accept = text.find("iifname \"eth0\" ip daddr 10.209.0.7 meta l4proto { tcp, udp } socket transparent 0 accept");
  const auto dnat = text.find("iifname \"eth0\" ip daddr 10.209.0.7 meta l4proto { tcp, udp } dnat to 127.0.0.1\n");
  ASSERT_NE(accept, std::string::npos) << text;
  ASSERT_NE(dnat, std::string::npos) << text;
  EXPECT_LT(accept, dnat) << "a workload listening on its address or 0.0.0.0 must keep the real peer";
}

TEST(InstanceRuleset, SendsLocalhostOfOtherServicesPublishedPortsToTheGateway) {
  const auto text = render_instance_ruleset(loopback({5432, 8080, 3000}, {8080}));
  EXPECT_NE(text.find("ip daddr 127.0.0.0/8 tcp dport { 3000, 5432 } dnat to 10.209.0.1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ip saddr 127.0.0.0/8 oifname \"eth0\" masquerade"), std::string::npos) << text;
}

TEST(InstanceRuleset, NeedsNoOutputChainWhenOnlyItsOwnPortsArePublished) {
  EXPECT_EQ(render_instance_ruleset(loopback({8080}, {8080})).find("chain output"), std::string::npos);
  EXPECT_EQ(render_instance_ruleset(loopback({}, {})).find("chain output"), std::string::npos);
}

}  // namespace
}  // namespace prisn::network
