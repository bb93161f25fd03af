// SPDX-License-Identifier: MIT
#include "prisn/supervisor/backoff.hpp"

#include <gtest/gtest.h>

namespace prisn::supervisor {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Backoff, DoublesFromOneSecondToSixty) {
  Backoff b;
  std::vector<long> delays;
  for (int i = 0; i < 9; ++i) {
    delays.push_back(std::chrono::duration_cast<seconds>(b.next_delay(milliseconds(100), false)).count());
  }
  EXPECT_EQ(delays, (std::vector<long>{1, 2, 4, 8, 16, 32, 60, 60, 60}));
}

TEST(Backoff, ResetsAfterTenSecondsHealthy) {
  Backoff b;
  for (int i = 0; i < 5; ++i) b.next_delay(milliseconds(100), false);
  EXPECT_EQ(b.next_delay(seconds(10), true), seconds(1));
  EXPECT_EQ(b.next_delay(seconds(1), true), seconds(2));
}

TEST(Backoff, NoResetWhenUnhealthyOrShort) {
  Backoff b;
  b.next_delay(milliseconds(1), false);
  EXPECT_EQ(b.next_delay(seconds(60), false), seconds(2));  // long but never healthy
  EXPECT_EQ(b.next_delay(seconds(9), true), seconds(4));    // healthy but under 10 s
}

}  // namespace
}  // namespace prisn::supervisor
