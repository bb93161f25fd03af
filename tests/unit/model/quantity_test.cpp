// SPDX-License-Identifier: MIT
#include "prisn/model/quantity.hpp"

#include <gtest/gtest.h>

namespace prisn::model {
namespace {

TEST(Quantity, Memory) {
  EXPECT_EQ(parse_memory_quantity("256Mi").value(), 256ULL * 1024 * 1024);
  EXPECT_EQ(parse_memory_quantity("1Gi").value(), 1ULL << 30);
  EXPECT_EQ(parse_memory_quantity("500M").value(), 500'000'000ULL);
  EXPECT_EQ(parse_memory_quantity("1048576").value(), 1048576ULL);
  for (const char* bad : {"", "Mi", "12Xi", "-1Mi", "0", "1..5Mi"}) {
    EXPECT_FALSE(parse_memory_quantity(bad)) << bad;
  }
}

TEST(Quantity, Cpu) {
  EXPECT_EQ(parse_cpu_quantity("500m").value(), 500U);
  EXPECT_EQ(parse_cpu_quantity("0.5").value(), 500U);
  EXPECT_EQ(parse_cpu_quantity("2").value(), 2000U);
  for (const char* bad : {"", "m", "0", "1x", "0.0001"}) {
    EXPECT_FALSE(parse_cpu_quantity(bad)) << bad;
  }
}

}  // namespace
}  // namespace prisn::model
