// SPDX-License-Identifier: MIT
#include "prisn/core/hash.hpp"

#include <gtest/gtest.h>

namespace prisn {
namespace {

// The published FNV-1a 64-bit test vectors.
TEST(Fnv1a64, MatchesThePublishedVectors) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ULL);
  EXPECT_NE(fnv1a64("a", 1469598103934665603ULL), fnv1a64("a"));  // another basis, another hash
}

}  // namespace
}  // namespace prisn
