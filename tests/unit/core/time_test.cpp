// SPDX-License-Identifier: MIT
#include "prisn/core/time.hpp"

#include <gtest/gtest.h>

namespace prisn {

TEST(Time, FormatsUtcSeconds) {
  EXPECT_EQ(to_rfc3339(from_epoch_ms(1'795'000'000'123)), "2026-11-18T11:06:40Z");
  EXPECT_EQ(to_rfc3339(from_epoch_ms(0)), "1970-01-01T00:00:00Z");
}

TEST(Time, ParsesZuluOffsetsAndFractions) {
  EXPECT_EQ(to_epoch_ms(parse_rfc3339("2026-11-18T11:06:40Z").value()), 1'795'000'000'000);
  EXPECT_EQ(to_epoch_ms(parse_rfc3339("2026-11-18T11:06:40.25Z").value()), 1'795'000'000'250);
  EXPECT_EQ(to_epoch_ms(parse_rfc3339("2026-11-18T12:06:40+01:00").value()), 1'795'000'000'000);
  EXPECT_EQ(to_epoch_ms(parse_rfc3339("2026-11-18T06:06:40-05:00").value()), 1'795'000'000'000);
}

TEST(Time, RejectsMalformed) {
  for (const char* bad : {"", "2026-11-18", "2026-11-18T08:26:40", "2026-13-01T00:00:00Z",
                          "2026-11-18T08:26:40+0100", "2026-11-18T08:26:40Zjunk", "yesterday",
                          "2026-02-30T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
  }
}

TEST(Time, AcceptsTheLastDayOfEachMonth) {
  for (const char* ok : {"2028-02-29T00:00:00Z", "2026-02-28T00:00:00Z", "2026-04-30T00:00:00Z",
                         "2026-12-31T23:59:59Z"}) {
    EXPECT_TRUE(parse_rfc3339(ok)) << ok;
  }
}

TEST(Time, HumanAge) {
  const auto now = from_epoch_ms(10'000'000'000);
  EXPECT_EQ(human_age(now - std::chrono::seconds(42), now), "42s");
  EXPECT_EQ(human_age(now - std::chrono::minutes(5), now), "5m");
  EXPECT_EQ(human_age(now - std::chrono::hours(3), now), "3h");
  EXPECT_EQ(human_age(now - std::chrono::hours(72), now), "3d");
}

// The clock counts nanoseconds in 64 bits: a time past 2262 would wrap to the past.
TEST(Time, RejectsTimesTheClockCannotHold) {
  EXPECT_TRUE(parse_rfc3339("2261-12-31T23:59:59Z"));
  for (const char* far : {"2262-04-12T00:00:00Z", "9999-12-31T23:59:59Z", "1600-01-01T00:00:00Z"}) {
    auto t = parse_rfc3339(far);
    ASSERT_FALSE(t) << far;
    EXPECT_NE(t.error().message.find("outside"), std::string::npos);
  }
}

}  // namespace prisn
