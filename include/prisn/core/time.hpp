// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "prisn/core/error.hpp"

namespace prisn {

using WallClock = std::chrono::system_clock;
using WallTime = WallClock::time_point;

/// Milliseconds since the Unix epoch: the form times are stored in.
std::int64_t to_epoch_ms(WallTime t);
WallTime from_epoch_ms(std::int64_t ms);

/// "2026-11-22T10:00:00Z" (UTC, second precision), the API's time format.
std::string to_rfc3339(WallTime t);

/// Accepts RFC 3339 date-times: "2026-11-22T10:00:00Z", with optional fraction and a
/// "+HH:MM"/"-HH:MM" offset.
Result<WallTime> parse_rfc3339(std::string_view text);

/// Compact age for tables: "42s", "5m", "3h", "2d".
std::string human_age(WallTime then, WallTime now);

/// The IANA name of the time zone this process's local time is in ("Europe/Berlin"): from
/// TZ, else /etc/localtime's link into the zone database, else /etc/timezone; nullopt when
/// none of them names a zone of the database.
std::optional<std::string> local_time_zone_name();

}  // namespace prisn
