// SPDX-License-Identifier: MIT
#pragma once

#include <bitset>
#include <optional>
#include <string>
#include <string_view>

#include "prisn/core/error.hpp"
#include "prisn/core/time.hpp"

namespace prisn::cron {

/// A five-field cron schedule (minute hour day-of-month month day-of-week) in the server's
/// local time zone, as SPEC §6.5 defines it: ranges, lists, steps, month and weekday names,
/// and the @hourly/@daily/@midnight/@weekly/@monthly/@yearly/@annually macros.
///
/// Day matching follows Vixie cron: when both day fields are restricted, a day matches if
/// either does; a field that starts with '*' (including "*/2") counts as unrestricted.
///
/// Usage:
///   auto expr = CronExpr::parse("*/15 9-17 * * mon-fri");
///   if (!expr) { report(expr.error().message); }
///   std::optional<WallTime> next = expr->next_after(WallClock::now());
///
/// Pure and thread-compatible: no I/O, no shared state except the C library's time zone.
class CronExpr {
 public:
  /// Parses `text`; the error message names the field and the offending value.
  static Result<CronExpr> parse(std::string_view text);

  /// The first fire time strictly after `after` (minute resolution), or nullopt when the
  /// schedule does not fire within the next eight years (e.g. "0 0 30 2 *").
  ///
  /// Daylight saving: a wall-clock time skipped by a spring-forward change does not fire
  /// that day; a wall-clock time repeated by a fall-back change fires once (the first).
  std::optional<WallTime> next_after(WallTime after) const;

  /// The schedule as given (macros kept as written).
  const std::string& text() const { return text_; }

  /// The same schedule as Kubernetes' cron parser takes it: a restricted day-of-week field
  /// is written as the list of days it selects ("0 9 * * 7" → "0 9 * * 0", "0 0 * * 5-7" →
  /// "0 0 * * 0,5,6"), since that parser knows no 7 and no range that ends on Sunday as 7.
  /// Nothing when that parser would run it on other days: it takes a day field with a step,
  /// such as `*/2`, as restricted, where prisn (as Vixie cron) takes it as "any day" and so
  /// requires both day fields to match ("0 0 */2 * 1": odd days that are Mondays to prisn,
  /// odd days or Mondays to Kubernetes), and no spelling gives Kubernetes the "both".
  std::optional<std::string> portable_text() const;

 private:
  bool day_matches(int mday, int wday) const;

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // bits 1..31
  std::bitset<13> months_;         // bits 1..12
  std::bitset<7> days_of_week_;    // bit 0 = Sunday
  bool dom_star_ = false;
  bool dow_star_ = false;
};

}  // namespace prisn::cron
