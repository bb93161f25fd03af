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
  // Fractions, as Go and Kubernetes write them, to the millisecond.
  EXPECT_EQ(parse_duration("1.5s").value(), Millis(1'500));
  EXPECT_EQ(parse_duration("0.25h").value(), Millis(900'000));
  EXPECT_EQ(parse_duration("1m0.5s").value(), Millis(60'500));
  EXPECT_EQ(parse_duration(".5s").value(), Millis(500));
  EXPECT_EQ(parse_duration("1.0005s").value(), Millis(1'000));
  EXPECT_EQ(parse_duration("0s").value(), Millis(0));
  EXPECT_EQ(parse_duration("0.000s").value(), Millis(0));
  for (const char* tiny : {"0.5ms", "0.0001s"}) {  // not rounded to 0, which a timeout takes as none
    auto d = parse_duration(tiny);
    ASSERT_FALSE(d) << tiny;
    EXPECT_NE(d.error().message.find("shorter than a millisecond"), std::string::npos);
  }
}

TEST(Duration, RejectsMalformed) {
  for (const char* bad : {"", "s", "10x", "-5s", "1.5", ".s", "1..5s", "1m30", "10 s", "99999999999999999999h"}) {
    EXPECT_FALSE(parse_duration(bad)) << bad;
  }
}

TEST(Duration, RefusesWhatAClockCannotHold) {
  // Past 292 years a steady clock's time point overflows and a timeout would fire at once.
  ASSERT_TRUE(parse_duration("876000h"));
  EXPECT_EQ(*parse_duration("876000h"), kLongestDuration);
  for (const char* too_long : {"876001h", "2562048h", "36500d1ms", "3153600001"}) {
    auto d = parse_duration(too_long);
    ASSERT_FALSE(d) << too_long;
    EXPECT_NE(d.error().message.find("longer than 100 years"), std::string::npos) << d.error().message;
  }
  EXPECT_EQ(*duration_from_seconds(90), Millis(90'000));
  EXPECT_FALSE(duration_from_seconds(9'223'372'037));
  EXPECT_FALSE(duration_from_seconds(-1));
}

TEST(Duration, FormatsShortest) {
  EXPECT_EQ(format_duration(Millis(0)), "0s");
  EXPECT_EQ(format_duration(Millis(250)), "250ms");
  EXPECT_EQ(format_duration(Millis(5'400'000)), "1h30m");
  EXPECT_EQ(format_duration(Millis(61'500)), "1m1.5s");
  EXPECT_EQ(format_duration(Millis(1'005)), "1.005s");
  EXPECT_EQ(parse_duration(format_duration(Millis(3'723'004))).value(), Millis(3'723'004));
}

}  // namespace prisn
