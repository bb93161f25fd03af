// SPDX-License-Identifier: MIT
#include "prisn/cron/cron_expr.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <optional>

namespace prisn::cron {
namespace {

// Sets TZ for one test and restores it afterwards.
class ScopedTz {
 public:
  explicit ScopedTz(const char* tz) {
    if (const char* old = std::getenv("TZ")) {
      old_ = old;
      had_ = true;
    }
    setenv("TZ", tz, 1);
    tzset();
  }
  ~ScopedTz() {
    if (had_) {
      setenv("TZ", old_.c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }

 private:
  std::string old_;
  bool had_ = false;
};

WallTime utc(int y, int mo, int d, int h, int mi) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  return WallClock::from_time_t(timegm(&tm));
}

WallTime next(const char* expr, WallTime after) {
  auto parsed = CronExpr::parse(expr);
  EXPECT_TRUE(parsed) << expr << ": " << (parsed ? "" : parsed.error().message);
  auto n = parsed->next_after(after);
  EXPECT_TRUE(n.has_value()) << expr;
  return n.value_or(WallTime{});
}

TEST(CronExpr, StepsOnTheMinute) {
  ScopedTz tz("UTC");
  EXPECT_EQ(next("*/15 * * * *", utc(2026, 11, 23, 10, 7)), utc(2026, 11, 23, 10, 15));
  EXPECT_EQ(next("*/15 * * * *", utc(2026, 11, 23, 10, 45)), utc(2026, 11, 23, 11, 0));
  EXPECT_EQ(next("0-30/10 * * * *", utc(2026, 11, 23, 10, 21)), utc(2026, 11, 23, 10, 30));
  EXPECT_EQ(next("0-30/10 * * * *", utc(2026, 11, 23, 10, 31)), utc(2026, 11, 23, 11, 0));
}

TEST(CronExpr, NextIsStrictlyAfter) {
  ScopedTz tz("UTC");
  EXPECT_EQ(next("0 3 * * *", utc(2026, 11, 23, 3, 0)), utc(2026, 11, 24, 3, 0));
  EXPECT_EQ(next("* * * * *", utc(2026, 11, 23, 3, 0) + std::chrono::seconds(59)),
            utc(2026, 11, 23, 3, 1));
}

TEST(CronExpr, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  ScopedTz tz("UTC");
  // November 2026: the 1st is a Sunday; Mondays are 2, 9, 16, 23, 30.
  EXPECT_EQ(next("0 0 10 * 1", utc(2026, 11, 1, 0, 0)), utc(2026, 11, 2, 0, 0));
  EXPECT_EQ(next("0 0 10 * 1", utc(2026, 11, 9, 0, 0)), utc(2026, 11, 10, 0, 0));
  EXPECT_EQ(next("0 0 10 * 1", utc(2026, 11, 10, 0, 0)), utc(2026, 11, 16, 0, 0));
}

TEST(CronExpr, StarredDayFieldMeansBothMustMatch) {
  ScopedTz tz("UTC");
  // "*/2" starts with '*': odd days that are also Mondays (Vixie rule).
  EXPECT_EQ(next("0 0 */2 * 1", utc(2026, 11, 1, 0, 0)), utc(2026, 11, 9, 0, 0));
  EXPECT_EQ(next("0 0 * * mon", utc(2026, 11, 2, 0, 0)), utc(2026, 11, 9, 0, 0));
}

TEST(CronExpr, NamesAndSevenIsSunday) {
  ScopedTz tz("UTC");
  EXPECT_EQ(next("0 0 * * 7", utc(2026, 11, 2, 0, 0)), utc(2026, 11, 8, 0, 0));
  EXPECT_EQ(next("0 0 * * SUN", utc(2026, 11, 2, 0, 0)), utc(2026, 11, 8, 0, 0));
  EXPECT_EQ(next("0 9 * jan-mar mon-fri", utc(2026, 11, 23, 0, 0)), utc(2027, 1, 1, 9, 0));
  EXPECT_EQ(next("0 0 1 JAN *", utc(2026, 11, 23, 0, 0)), utc(2027, 1, 1, 0, 0));
  EXPECT_EQ(next("0 12 * * sat,sun", utc(2026, 11, 23, 0, 0)), utc(2026, 11, 28, 12, 0));
}

TEST(CronExpr, Macros) {
  ScopedTz tz("UTC");
  const auto t = utc(2026, 11, 23, 10, 7);
  EXPECT_EQ(next("@hourly", t), utc(2026, 11, 23, 11, 0));
  EXPECT_EQ(next("@daily", t), utc(2026, 11, 24, 0, 0));
  EXPECT_EQ(next("@midnight", t), utc(2026, 11, 24, 0, 0));
  EXPECT_EQ(next("@weekly", t), utc(2026, 11, 29, 0, 0));
  EXPECT_EQ(next("@monthly", t), utc(2026, 12, 1, 0, 0));
  EXPECT_EQ(next("@yearly", t), utc(2027, 1, 1, 0, 0));
  EXPECT_EQ(next("@annually", t), utc(2027, 1, 1, 0, 0));
}

TEST(CronExpr, LeapDayAndNever) {
  ScopedTz tz("UTC");
  EXPECT_EQ(next("0 0 29 2 *", utc(2026, 3, 1, 0, 0)), utc(2028, 2, 29, 0, 0));
  auto never = CronExpr::parse("0 0 30 2 *");
  ASSERT_TRUE(never);
  EXPECT_FALSE(never->next_after(utc(2026, 1, 1, 0, 0)).has_value());
  EXPECT_EQ(next("0 0 31 * *", utc(2026, 11, 23, 0, 0)), utc(2026, 12, 31, 0, 0));
}

TEST(CronExpr, SpringForwardSkipsTheMissingTime) {
  ScopedTz tz("America/New_York");
  // 2026-03-08 02:00 EST jumps to 03:00 EDT: 02:30 does not exist that day.
  EXPECT_EQ(next("30 2 * * *", utc(2026, 3, 7, 8, 0)), utc(2026, 3, 9, 6, 30));
  // 03:30 EDT on the change day is 07:30Z.
  EXPECT_EQ(next("30 3 * * *", utc(2026, 3, 8, 5, 0)), utc(2026, 3, 8, 7, 30));
}

TEST(CronExpr, FallBackFiresOnce) {
  ScopedTz tz("America/New_York");
  // 2026-11-01 02:00 EDT falls back to 01:00 EST: 01:30 happens twice (05:30Z and 06:30Z).
  EXPECT_EQ(next("30 1 * * *", utc(2026, 10, 31, 16, 0)), utc(2026, 11, 1, 5, 30));
  EXPECT_EQ(next("30 1 * * *", utc(2026, 11, 1, 5, 30)), utc(2026, 11, 2, 6, 30));
  // Hourly: 01:00 EDT (05:00Z), then the repeated 01:00 EST (06:00Z) is skipped.
  EXPECT_EQ(next("0 * * * *", utc(2026, 11, 1, 5, 0)), utc(2026, 11, 1, 7, 0));
}

TEST(CronExpr, ErrorsNameTheField) {
  struct Case {
    const char* expr;
    const char* mentions;
  };
  for (const Case& c : {Case{"60 * * * *", "minute"}, Case{"* 24 * * *", "hour"},
                        Case{"* * 0 * *", "day-of-month"}, Case{"* * * 13 *", "month"},
                        Case{"* * * * 8", "day-of-week"}, Case{"* * * foo *", "month"},
                        Case{"*/0 * * * *", "minute"}, Case{"5-1 * * * *", "minute"},
                        Case{"* * * *", "5"}, Case{"* * * * * *", "5"}, Case{"@reboot", "macro"},
                        Case{"1,,2 * * * *", "minute"}, Case{"", "5"},
                        Case{"-1 * * * *", "a negative value"}}) {
    auto r = CronExpr::parse(c.expr);
    ASSERT_FALSE(r) << c.expr;
    EXPECT_NE(r.error().message.find(c.mentions), std::string::npos)
        << c.expr << " -> " << r.error().message;
  }
}

// Kubernetes' parser knows no day-of-week 7 and no range that wraps to Sunday: a restricted
// day-of-week field is written as the days it selects; everything else stays as written.
TEST(CronExpr, PortableTextListsTheDaysOfTheWeek) {
  auto portable = [](const char* text) { return CronExpr::parse(text).value().portable_text(); };
  EXPECT_EQ(portable("0 9 * * 7"), "0 9 * * 0");
  EXPECT_EQ(portable("0 0 * * 5-7"), "0 0 * * 0,5,6");
  EXPECT_EQ(portable("0 0 * * sat,sun"), "0 0 * * 0,6");
  EXPECT_EQ(portable("*/15 9-17 * * mon-fri"), "*/15 9-17 * * 1,2,3,4,5");
  EXPECT_EQ(portable("0 3 * * *"), "0 3 * * *");
  EXPECT_EQ(portable("0 3 * * */2"), "0 3 * * */2");  // starts with '*': as written
  EXPECT_EQ(portable("0 3 */2 * *"), "0 3 */2 * *");
  EXPECT_EQ(portable("0 3 */1 * 1"), "0 3 */1 * 1");  // `*/1` is "any day" to both
  EXPECT_EQ(portable("@daily"), "@daily");
}

// A day field with a step is "any day" to prisn (Vixie cron), so both day fields must match;
// to Kubernetes' parser it is restricted, and either may match. No spelling says "both" there.
TEST(CronExpr, NoPortableTextWhenKubernetesWouldPickOtherDays) {
  auto portable = [](const char* text) { return CronExpr::parse(text).value().portable_text(); };
  EXPECT_EQ(portable("0 0 */2 * 1"), std::nullopt);  // prisn: odd days that are Mondays
  EXPECT_EQ(portable("0 3 1 * */2"), std::nullopt);
  EXPECT_EQ(portable("0 0 */2 * */3"), std::nullopt);
  EXPECT_EQ(portable("0 0 1-5 * 1"), "0 0 1-5 * 1");  // either, for both
  ScopedTz tz("UTC");  // from Monday the 7th, not the 9th (odd) nor the 14th (Monday): the 21st
  EXPECT_EQ(CronExpr::parse("0 0 */2 * 1").value().next_after(utc(2026, 12, 7, 12, 0)), utc(2026, 12, 21, 0, 0));
}

}  // namespace
}  // namespace prisn::cron
