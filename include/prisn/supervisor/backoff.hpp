// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <chrono>

namespace prisn::supervisor {

/// Restart delays for one instance slot (SPEC §6.4): 1 s, doubling to 60 s; back to 1 s once
/// an instance has run healthy for 10 s. Pure: the caller supplies uptime and health.
class Backoff {
 public:
  using Millis = std::chrono::milliseconds;
  static constexpr Millis kInitial{1'000};
  static constexpr Millis kMax{60'000};
  static constexpr Millis kResetAfter{10'000};

  /// The delay before the next start, given how long the exited instance had been healthy
  /// (in rotation) when it ended, and whether it was.
  Millis next_delay(Millis healthy_for, bool was_healthy);
  /// Forget history (a new spec, a manual restart).
  void reset() { level_ = 0; }
  int level() const { return level_; }
  /// Where a restarted prisnd found it (level() as it was recorded).
  void restore(int level) { level_ = std::max(0, level); }

 private:
  int level_ = 0;
};

}  // namespace prisn::supervisor
