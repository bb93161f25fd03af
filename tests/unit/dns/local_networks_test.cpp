// SPDX-License-Identifier: MIT
#include "dns/local_networks.hpp"

#include <gtest/gtest.h>

using prisn::dns::detail::LocalNetworks;
namespace ip = boost::asio::ip;

TEST(LocalNetworks, LoopbackIsAlwaysLocal) {
  LocalNetworks nets;
  EXPECT_TRUE(nets.contains(ip::make_address("127.0.0.1")));
  EXPECT_TRUE(nets.contains(ip::make_address("127.200.3.4")));
  EXPECT_TRUE(nets.contains(ip::make_address("::1")));
  EXPECT_TRUE(nets.contains(ip::make_address("::ffff:127.0.0.1")));
}

TEST(LocalNetworks, AddressesFarFromEveryInterfaceAreNot) {
  LocalNetworks nets;
  // TEST-NET-3 and a documentation IPv6 prefix: never configured on a real node.
  EXPECT_FALSE(nets.contains(ip::make_address("203.0.113.77")));
  EXPECT_FALSE(nets.contains(ip::make_address("2001:db8::77")));
}
