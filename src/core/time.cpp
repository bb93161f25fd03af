// SPDX-License-Identifier: MIT
#include "prisn/core/time.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "prisn/core/files.hpp"

namespace prisn {
namespace {

bool read_digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) {
    return false;
  }
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm, public domain).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

Error bad_time(std::string_view text) {
  return Error::invalid("'" + std::string(text.substr(0, 40)) +
                        "' is not an RFC 3339 time (example: 2026-11-22T10:00:00Z)");
}

}  // namespace

std::int64_t to_epoch_ms(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

WallTime from_epoch_ms(std::int64_t ms) {
  return WallTime(std::chrono::duration_cast<WallClock::duration>(std::chrono::milliseconds(ms)));
}

std::string to_rfc3339(WallTime t) {
  const std::time_t secs = WallClock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

Result<WallTime> parse_rfc3339(std::string_view s) {
  int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0;
  if (!read_digits(s, 0, 4, year) || s.size() < 19 || s[4] != '-' || !read_digits(s, 5, 2, mon) ||
      s[7] != '-' || !read_digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !read_digits(s, 11, 2, hour) || s[13] != ':' || !read_digits(s, 14, 2, min) ||
      s[16] != ':' || !read_digits(s, 17, 2, sec)) {
    return bad_time(s);
  }
  if (mon < 1 || mon > 12 || day < 1 || hour > 23 || min > 59 || sec > 60) {
    return bad_time(s);
  }
  const auto in_month = std::chrono::year_month_day_last(
      std::chrono::year(year), std::chrono::month_day_last(std::chrono::month(static_cast<unsigned>(mon))));
  if (static_cast<unsigned>(day) > static_cast<unsigned>(in_month.day())) {
    return bad_time(s);  // February 30th and the like
  }
  std::size_t pos = 19;
  std::int64_t millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int scale = 100;
    const std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      millis += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) {
      return bad_time(s);
    }
  }
  std::int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (!read_digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !read_digits(s, pos + 4, 2, om)) {
      return bad_time(s);
    }
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return bad_time(s);
  }
  if (pos != s.size()) {
    return bad_time(s);
  }
  const std::int64_t days = days_from_civil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day));
  const std::int64_t secs = days * 86400 + hour * 3600 + min * 60 + sec - offset_s;
  // The clock counts nanoseconds in 64 bits: about 1678 to 2262. Outside, a time would wrap.
  using Ms = std::chrono::milliseconds;
  const auto first = std::chrono::duration_cast<Ms>(WallTime::min().time_since_epoch()).count() + 1000;
  const auto last = std::chrono::duration_cast<Ms>(WallTime::max().time_since_epoch()).count() - 1000;
  if (secs < first / 1000 || secs > last / 1000) {
    return Error::invalid(fmt::format("'{}' is outside the times prisn can represent (the years 1678 to 2261)",
                                      s.substr(0, 64)));
  }
  return from_epoch_ms(secs * 1000 + millis);
}

std::string human_age(WallTime then, WallTime now) {
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(now - then).count();
  if (secs < 0) {
    secs = 0;
  }
  if (secs < 120) return fmt::format("{}s", secs);
  if (secs < 7200) return fmt::format("{}m", secs / 60);
  if (secs < 172800) return fmt::format("{}h", secs / 3600);
  return fmt::format("{}d", secs / 86400);
}

std::optional<std::string> local_time_zone_name() {
  namespace fs = std::filesystem;
  const fs::path database = "/usr/share/zoneinfo";
  auto known = [&](std::string name) -> std::optional<std::string> {
    while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
    std::error_code ec;
    if (name.empty() || name.find("..") != std::string::npos || !fs::is_regular_file(database / name, ec)) {
      return std::nullopt;
    }
    return name;
  };
  if (const char* tz = std::getenv("TZ"); tz != nullptr && *tz != '\0') {
    return known(tz[0] == ':' ? tz + 1 : tz);  // a TZ that names no zone: no name to give
  }
  std::error_code ec;
  const auto target = fs::read_symlink("/etc/localtime", ec).string();
  if (const auto at = target.find("zoneinfo/"); !ec && at != std::string::npos) {
    if (auto name = known(target.substr(at + 9))) return name;
  }
  if (auto text = read_file("/etc/timezone")) return known(*text);
  return std::nullopt;
}

}  // namespace prisn
