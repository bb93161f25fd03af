// SPDX-License-Identifier: MIT
#include "prisn/core/duration.hpp"

#include <gtest/gtest.h>

namespace prisn {

TEST(Duration, ParsesUnitsAndCombinations) {
  EXPECT_EQ(parse_duration("500ms").value(), Millis(500));
  EXPECT_EQ(parse_duration("30s").value(), Millis(30'000));
  EXPECT_EQ(parse_duration("10m").value(), Millis(600'000));
  EXPECT_EQ(parse_duration("1h30m").value(), Millis(5'400'000));
  EXPECT_EQ(parse_duration("2d").value(), Millis(172'800'000));
  EXPECT_EQ(parse_duration("90").value(), Millis(90'000));
}

TEST(Duration, RejectsMalformed) {
  for (const char* bad : {"", "s", "10x", "-5s", "1.5s", "1m30", "10 s", "99999999999999999999h"}) {
    EXPECT_FALSE(parse_duration(bad)) << bad;
  }
}

TEST(Duration, FormatsShortest) {
  EXPECT_EQ(format_duration(Millis(0)), "0s");
  EXPECT_EQ(format_duration(Millis(250)), "250ms");
  EXPECT_EQ(format_duration(Millis(5'400'000)), "1h30m");
  EXPECT_EQ(format_duration(Millis(61'500)), "1m1s500ms");
  EXPECT_EQ(parse_duration(format_duration(Millis(3'723'004))).value(), Millis(3'723'004));
}

}  // namespace prisn
