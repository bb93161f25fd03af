// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "prisn/core/error.hpp"

namespace prisn {

using Millis = std::chrono::milliseconds;

/// Parses a Go-style duration: one or more <number><unit> pairs with units ms, s, m, h, d
/// ("500ms", "30s", "1h30m"). A bare number means seconds. Negative values are rejected.
Result<Millis> parse_duration(std::string_view text);

/// The shortest Go-style text for a duration ("1h30m", "250ms", "0s").
std::string format_duration(Millis d);

}  // namespace prisn
