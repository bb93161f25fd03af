// SPDX-License-Identifier: MIT
// Cron parsing and next-fire computation. Written here rather than taken from a library:
// Debian 12 ships no C++ cron library, and the semantics (Vixie day rule, DST handling,
// strict errors naming the field) are part of prisn's contract.
#include "prisn/cron/cron_expr.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <ctime>
#include <vector>

namespace prisn::cron {
namespace {

struct FieldSpec {
  const char* name;
  int min;
  int max;
  const std::array<const char*, 12>* names;  // value = index + name_base
  int name_base;
};

constexpr std::array<const char*, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                     "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<const char*, 12> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri",
                                                   "sat", "",    "",    "",    "",    ""};

const std::array<FieldSpec, 5> kFields = {{
    {"minute", 0, 59, nullptr, 0},
    {"hour", 0, 23, nullptr, 0},
    {"day-of-month", 1, 31, nullptr, 0},
    {"month", 1, 12, &kMonthNames, 1},
    {"day-of-week", 0, 7, &kDayNames, 0},
}};

Error field_error(const FieldSpec& f, std::string_view item, std::string_view why) {
  return Error::invalid(fmt::format("schedule: {} field '{}': {}", f.name, item, why));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

Result<int> parse_value(const FieldSpec& f, std::string_view item, std::string_view text) {
  if (text.empty()) {
    return field_error(f, item, item.starts_with('-') ? "a negative value, or a range without its start" : "empty value");
  }
  if (std::isdigit(static_cast<unsigned char>(text[0]))) {
    int v = 0;
    for (char c : text) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || v > 1000) {
        return field_error(f, item, fmt::format("'{}' is not a number", text));
      }
      v = v * 10 + (c - '0');
    }
    if (v < f.min || v > f.max) {
      return field_error(f, item, fmt::format("{} is out of range {}-{}", v, f.min, f.max));
    }
    return v;
  }
  if (f.names != nullptr) {
    const std::string name = lower(text);
    for (std::size_t i = 0; i < f.names->size(); ++i) {
      if (*(*f.names)[i] != '\0' && name == (*f.names)[i]) {
        return static_cast<int>(i) + f.name_base;
      }
    }
  }
  return field_error(f, item, fmt::format("'{}' is not a valid value", text));
}

// Parses one comma-separated field into `bits` (indexed by value). `star` tells whether the
// field starts with '*', which matters for the day-of-month/day-of-week rule.
template <std::size_t N>
Result<void> parse_field(const FieldSpec& f, std::string_view field, std::bitset<N>& bits,
                         bool& star) {
  star = !field.empty() && field[0] == '*';
  std::size_t start = 0;
  while (start <= field.size()) {
    std::size_t comma = field.find(',', start);
    if (comma == std::string_view::npos) {
      comma = field.size();
    }
    const std::string_view item = field.substr(start, comma - start);
    if (item.empty()) {
      return field_error(f, field, "empty list item");
    }
    int lo = f.min;
    int hi = f.max;
    int step = 1;
    std::string_view range = item;
    if (const auto slash = item.find('/'); slash != std::string_view::npos) {
      range = item.substr(0, slash);
      auto s = parse_value({f.name, 1, f.max - f.min + 1, nullptr, 0}, item, item.substr(slash + 1));
      if (!s) {
        return field_error(f, item, "step must be a number from 1 to " +
                                        std::to_string(f.max - f.min + 1));
      }
      step = *s;
    }
    if (range != "*") {
      const auto dash = range.find('-');
      auto first = parse_value(f, item, range.substr(0, dash));
      if (!first) {
        return first.error();
      }
      lo = *first;
      if (dash != std::string_view::npos) {
        auto last = parse_value(f, item, range.substr(dash + 1));
        if (!last) {
          return last.error();
        }
        hi = *last;
        if (hi < lo) {
          return field_error(f, item, "range end is before its start");
        }
      } else if (range.size() == item.size()) {
        hi = lo;  // a single value
      }
      // "a/step" (no dash) means a through the maximum, as in Vixie cron.
    }
    for (int v = lo; v <= hi; v += step) {
      bits.set(static_cast<std::size_t>(v));
    }
    start = comma + 1;
  }
  return {};
}

std::string_view expand_macro(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kMacros = {{
      {"@yearly", "0 0 1 1 *"},
      {"@annually", "0 0 1 1 *"},
      {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"},
      {"@daily", "0 0 * * *"},
      {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"},
  }};
  for (const auto& [name, expansion] : kMacros) {
    if (text == name) {
      return expansion;
    }
  }
  return {};
}

std::vector<std::string_view> split_fields(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    const std::size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) {
      out.push_back(text.substr(start, i - start));
    }
  }
  return out;
}

// The only place that knows about the local time zone (g++ 12 has no <chrono> zones).
std::tm local_tm(std::time_t t) {
  std::tm tm{};
  localtime_r(&t, &tm);
  return tm;
}

std::time_t local_midnight(int year, int mon, int mday) {
  std::tm tm{};
  tm.tm_year = year;
  tm.tm_mon = mon;
  tm.tm_mday = mday;
  tm.tm_isdst = -1;
  return std::mktime(&tm);
}

bool same_wall_minute(const std::tm& a, const std::tm& b) {
  return a.tm_year == b.tm_year && a.tm_yday == b.tm_yday && a.tm_hour == b.tm_hour &&
         a.tm_min == b.tm_min;
}

// True when the wall-clock minute of `t` already happened earlier, i.e. `t` lies in the
// repeated hour after a fall-back change.
bool is_repeated_wall_time(std::time_t t, const std::tm& at) {
  const std::tm before = local_tm(t - 4 * 3600);
  const long shift = before.tm_gmtoff - at.tm_gmtoff;
  if (shift <= 0) {
    return false;
  }
  return same_wall_minute(local_tm(t - shift), at);
}

}  // namespace

Result<CronExpr> CronExpr::parse(std::string_view text) {
  CronExpr expr;
  expr.text_ = std::string(text);
  std::string_view body = text;
  if (!text.empty() && text[0] == '@') {
    body = expand_macro(lower(text));
    if (body.empty()) {
      return Error::invalid(fmt::format(
          "schedule: unknown macro '{}' (use @hourly, @daily, @weekly, @monthly or @yearly)",
          text.substr(0, 40)));
    }
  }
  const auto fields = split_fields(body);
  if (fields.size() != 5) {
    return Error::invalid(fmt::format(
        "schedule: '{}' has {} fields; expected 5 (minute hour day-of-month month day-of-week)",
        text.substr(0, 80), fields.size()));
  }
  bool ignored = false;
  std::bitset<8> dow;
  Result<void> results[] = {
      parse_field(kFields[0], fields[0], expr.minutes_, ignored),
      parse_field(kFields[1], fields[1], expr.hours_, ignored),
      parse_field(kFields[2], fields[2], expr.days_of_month_, expr.dom_star_),
      parse_field(kFields[3], fields[3], expr.months_, ignored),
      parse_field(kFields[4], fields[4], dow, expr.dow_star_),
  };
  for (auto& r : results) {
    if (!r) {
      return r.error();
    }
  }
  for (std::size_t d = 0; d < 7; ++d) {
    expr.days_of_week_[d] = dow[d];
  }
  expr.days_of_week_[0] = dow[0] || dow[7];  // 7 is Sunday too
  return expr;
}

namespace {

// Whether Kubernetes' cron parser (robfig/cron v3) takes a day field as "any day": it does
// when an item is `*` or `?` with no step above 1.
bool kubernetes_any_day(std::string_view field) {
  std::size_t start = 0;
  while (start <= field.size()) {
    const std::size_t comma = std::min(field.find(',', start), field.size());
    const std::string_view item = field.substr(start, comma - start);
    start = comma + 1;
    if (item.empty() || (item[0] != '*' && item[0] != '?')) continue;
    const auto slash = item.find('/');
    if (slash == std::string_view::npos || item.substr(slash + 1) == "1") return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> CronExpr::portable_text() const {
  if (text_.starts_with('@')) return text_;
  const auto fields = split_fields(text_);
  if (fields.size() != 5) return text_;
  const bool both_days_here = dom_star_ || dow_star_;  // see day_matches()
  const bool both_days_there = kubernetes_any_day(fields[2]) || kubernetes_any_day(fields[4]);
  if (both_days_here != both_days_there) return std::nullopt;
  if (dow_star_) return text_;
  std::string out;
  for (std::size_t i = 0; i < 4; ++i) out += std::string(fields[i]) + " ";
  std::string days;
  for (std::size_t d = 0; d < 7; ++d) {
    if (days_of_week_[d]) days += (days.empty() ? "" : ",") + std::to_string(d);
  }
  return out + days;
}

bool CronExpr::day_matches(int mday, int wday) const {
  const bool dom = days_of_month_[static_cast<std::size_t>(mday)];
  const bool dow = days_of_week_[static_cast<std::size_t>(wday)];
  if (dom_star_ || dow_star_) {
    return dom && dow;
  }
  return dom || dow;
}

std::optional<WallTime> CronExpr::next_after(WallTime after) const {
  std::time_t t = WallClock::to_time_t(after);
  if (WallClock::from_time_t(t) > after) {
    --t;  // to_time_t may round up; we need the floor
  }
  t = t - (t % 60) + 60;  // the next whole minute strictly after `after`
  const int last_year = local_tm(t).tm_year + 8;
  for (int guard = 0; guard < 200000; ++guard) {
    const std::tm tm = local_tm(t);
    if (tm.tm_year > last_year) {
      return std::nullopt;
    }
    if (!months_[static_cast<std::size_t>(tm.tm_mon + 1)]) {
      t = local_midnight(tm.tm_year, tm.tm_mon + 1, 1);
      continue;
    }
    if (!day_matches(tm.tm_mday, tm.tm_wday)) {
      t = local_midnight(tm.tm_year, tm.tm_mon, tm.tm_mday + 1);
      continue;
    }
    if (!hours_[static_cast<std::size_t>(tm.tm_hour)]) {
      t += (60 - tm.tm_min) * 60 - tm.tm_sec;
      continue;
    }
    if (!minutes_[static_cast<std::size_t>(tm.tm_min)] || is_repeated_wall_time(t, tm)) {
      t += 60 - tm.tm_sec;
      continue;
    }
    return WallClock::from_time_t(t);
  }
  return std::nullopt;
}

}  // namespace prisn::cron
