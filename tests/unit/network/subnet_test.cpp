// SPDX-License-Identifier: MIT
#include "prisn/network/subnet.hpp"

#include <gtest/gtest.h>

namespace prisn::network {
namespace {

TEST(Subnet, ParsesTheDefaultSubnet) {
  auto s = Subnet::parse("10.209.0.0/16");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(format_ipv4(s->gateway()), "10.209.0.1");
  EXPECT_EQ(format_ipv4(s->broadcast()), "10.209.255.255");
  EXPECT_EQ(s->cidr(), "10.209.0.0/16");
  EXPECT_TRUE(s->contains(*parse_ipv4("10.209.3.4")));
  EXPECT_FALSE(s->contains(*parse_ipv4("10.210.0.1")));
}

TEST(Subnet, RefusesWhatIsNotANetworkWithRoomForInstances) {
  for (const char* bad : {"10.209.0.0", "10.209.0.0/", "10.209.0.0/31", "10.209.0.0/7", "10.209.0.0/16x",
                          "10.209.0/16", "fd00::/64", "10.209.0.1/16"}) {
    EXPECT_FALSE(Subnet::parse(bad)) << bad;
  }
  EXPECT_NE(Subnet::parse("10.209.0.1/16").error().message.find("did you mean 10.209.0.0/16"), std::string::npos);
}

TEST(AddressPool, HandsOutTheLowestFreeAddressAfterTheGateway) {
  AddressPool pool(*Subnet::parse("10.231.0.0/24"));
  EXPECT_EQ(format_ipv4(*pool.allocate()), "10.231.0.2");
  EXPECT_EQ(format_ipv4(*pool.allocate()), "10.231.0.3");
  EXPECT_EQ(format_ipv4(*pool.allocate()), "10.231.0.4");
  const auto t0 = AddressPool::Clock::now();
  pool.release(*parse_ipv4("10.231.0.3"), t0);
  // Resting: neighbour caches still map it to the old instance's MAC address.
  EXPECT_EQ(format_ipv4(*pool.allocate(t0 + std::chrono::seconds(1))), "10.231.0.5");
  EXPECT_EQ(format_ipv4(*pool.allocate(t0 + AddressPool::kRest)), "10.231.0.3");
  EXPECT_EQ(format_ipv4(*pool.allocate(t0 + AddressPool::kRest)), "10.231.0.6");
}

TEST(AddressPool, HandsOutARestingAddressWhenNoOtherIsFree) {
  AddressPool pool(*Subnet::parse("10.231.0.0/30"));
  const auto t0 = AddressPool::Clock::now();
  pool.release(*pool.allocate(t0), t0);
  EXPECT_EQ(format_ipv4(*pool.allocate(t0)), "10.231.0.2");
}

TEST(AddressPool, ReservesAdoptedAddressesOnlyInsideTheInstanceRange) {
  AddressPool pool(*Subnet::parse("10.231.0.0/24"));
  EXPECT_TRUE(pool.reserve(*parse_ipv4("10.231.0.2")));
  EXPECT_FALSE(pool.reserve(*parse_ipv4("10.231.0.2")));    // taken
  EXPECT_FALSE(pool.reserve(*parse_ipv4("10.231.0.1")));    // the gateway
  EXPECT_FALSE(pool.reserve(*parse_ipv4("10.231.0.255")));  // broadcast
  EXPECT_FALSE(pool.reserve(*parse_ipv4("10.232.0.9")));    // elsewhere
  EXPECT_EQ(format_ipv4(*pool.allocate()), "10.231.0.3");
}

TEST(AddressPool, SaysWhenTheSubnetIsFull) {
  AddressPool pool(*Subnet::parse("10.231.0.0/30"));  // .1 gateway, .2 the only instance
  EXPECT_EQ(format_ipv4(*pool.allocate()), "10.231.0.2");
  auto full = pool.allocate();
  ASSERT_FALSE(full);
  EXPECT_NE(full.error().message.find("no free address"), std::string::npos);
}

}  // namespace
}  // namespace prisn::network
