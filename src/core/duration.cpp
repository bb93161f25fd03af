// SPDX-License-Identifier: MIT
#include "prisn/core/duration.hpp"

#include <cstdint>
#include <limits>

namespace prisn {
namespace {

// Milliseconds per unit; 0 when the unit is unknown.
std::int64_t unit_millis(std::string_view unit) {
  if (unit == "ms") return 1;
  if (unit == "s" || unit.empty()) return 1000;
  if (unit == "m") return 60'000;
  if (unit == "h") return 3'600'000;
  if (unit == "d") return 86'400'000;
  return 0;
}

Error bad(std::string_view text) {
  return Error::invalid("'" + std::string(text.substr(0, 40)) +
                        "' is not a duration (examples: 500ms, 30s, 10m, 1h30m)");
}

Error too_long(std::string_view text) {
  return Error::invalid("'" + std::string(text.substr(0, 40)) + "' is longer than 100 years, the longest duration prisn takes");
}

}  // namespace

Result<Millis> parse_duration(std::string_view text) {
  if (text.empty()) {
    return bad(text);
  }
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max() / 4;
  std::int64_t total = 0;
  std::size_t i = 0;
  bool bare_number_seen = false;
  while (i < text.size()) {
    std::int64_t value = 0;
    std::size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      value = value * 10 + (text[i] - '0');
      if (value > kMax / 86'400'000) {
        return bad(text);
      }
      ++i;
      ++digits;
    }
    // A fraction ("1.5s", "0.25h"), as Go and Kubernetes take; kept to the millisecond.
    std::int64_t fraction = 0;  // in units of 10^-fraction_digits
    std::int64_t fraction_scale = 1;
    if (i < text.size() && text[i] == '.') {
      ++i;
      std::size_t fraction_digits = 0;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        if (fraction_scale < 1'000'000'000) {  // past nine digits nothing is left at a millisecond
          fraction = fraction * 10 + (text[i] - '0');
          fraction_scale *= 10;
        }
        ++i;
        ++fraction_digits;
      }
      if (fraction_digits == 0 && digits == 0) return bad(text);
      digits += fraction_digits;
    }
    if (digits == 0) {
      return bad(text);
    }
    std::size_t unit_start = i;
    while (i < text.size() && ((text[i] >= 'a' && text[i] <= 'z'))) {
      ++i;
    }
    std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      // A bare number is seconds, but only on its own ("90", not "1m30").
      if (bare_number_seen || unit_start != text.size() || total != 0) {
        return bad(text);
      }
      bare_number_seen = true;
    }
    std::int64_t per = unit_millis(unit);
    if (per == 0) {
      return bad(text);
    }
    if (fraction_scale > 1 && unit.empty()) {
      return bad(text);  // a bare number is whole seconds
    }
    total += value * per + fraction * per / fraction_scale;
    if (total > kMax) {
      return bad(text);
    }
  }
  if (Millis(total) > kLongestDuration) {
    return too_long(text);
  }
  if (total == 0 && text.find_first_of("123456789") != std::string_view::npos) {
    // "0.5ms" would round to 0, which a timeout takes as "none": the opposite of what was asked.
    return Error::invalid("'" + std::string(text.substr(0, 40)) + "' is shorter than a millisecond, the shortest duration prisn takes");
  }
  return Millis(total);
}

Result<Millis> duration_from_seconds(long long seconds) {
  if (seconds < 0) return bad(std::to_string(seconds));
  if (seconds > kLongestDuration.count() / 1000) return too_long(std::to_string(seconds));
  return Millis(seconds * 1000);
}

std::string format_duration(Millis d) {
  std::int64_t ms = d.count();
  if (ms == 0) {
    return "0s";
  }
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  if (ms % 1000 != 0 && ms < 1000) {
    return out + std::to_string(ms) + "ms";
  }
  // As Go writes it: "1h30m", "1m1.5s", "500ms".
  const std::int64_t h = ms / 3'600'000;
  const std::int64_t m = (ms / 60'000) % 60;
  const std::int64_t s = (ms / 1000) % 60;
  const std::int64_t rest = ms % 1000;
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (s || rest) {
    out += std::to_string(s);
    if (rest) {
      std::string digits = std::to_string(1000 + rest).substr(1);  // three digits
      while (digits.back() == '0') digits.pop_back();
      out += "." + digits;
    }
    out += "s";
  }
  return out;
}

}  // namespace prisn
