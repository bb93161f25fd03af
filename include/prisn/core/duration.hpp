// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "prisn/core/error.hpp"

namespace prisn {

using Millis = std::chrono::milliseconds;

/// The longest duration prisn takes: 100 years. Longer ones would overflow a clock's time
/// point (nanoseconds since boot, in 64 bits, last 292 years) and fire at once.
inline constexpr Millis kLongestDuration{100LL * 365 * 86'400'000};

/// Parses a Go-style duration: one or more <number><unit> pairs with units ms, s, m, h, d
/// ("500ms", "30s", "1h30m"). A bare number means seconds. Negative values and values over
/// kLongestDuration are rejected.
Result<Millis> parse_duration(std::string_view text);

/// A whole number of seconds as a duration, within the same limits.
Result<Millis> duration_from_seconds(long long seconds);

/// The shortest Go-style text for a duration ("1h30m", "250ms", "0s").
std::string format_duration(Millis d);

}  // namespace prisn
