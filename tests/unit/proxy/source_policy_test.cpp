// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "prisn/proxy/l7_snapshot.hpp"

namespace prisn::proxy {
namespace {

// 10.231.0.0/24, gateway .1, instance .5 allowed.
SourcePolicy policy() {
  SourcePolicy p;
  p.subnet = 0x0AE70000;
  p.mask = 0xFFFFFF00;
  p.gateway = 0x0AE70001;
  p.allowed = {0x0AE70005};
  return p;
}

TEST(SourcePolicy, AdmitsOnlyTheAllowedInstances) {
  EXPECT_TRUE(policy().admits("10.231.0.5"));
  EXPECT_FALSE(policy().admits("10.231.0.6"));
  EXPECT_FALSE(policy().admits("::ffff:10.231.0.6"));  // through a dual-stack listener
  EXPECT_TRUE(policy().admits("::ffff:10.231.0.5"));
}

TEST(SourcePolicy, LeavesClientsThatAreNotInstancesAlone) {
  EXPECT_TRUE(policy().admits("10.231.0.1"));  // the gateway: the node itself
  EXPECT_TRUE(policy().admits("127.0.0.1"));
  EXPECT_TRUE(policy().admits("192.0.2.7"));
  EXPECT_TRUE(policy().admits("::1"));
  EXPECT_TRUE(policy().admits("10.231.1.6"));  // outside the subnet
}

}  // namespace
}  // namespace prisn::proxy
