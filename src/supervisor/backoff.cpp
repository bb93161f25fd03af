// SPDX-License-Identifier: MIT
#include "prisn/supervisor/backoff.hpp"

#include <algorithm>

namespace prisn::supervisor {

Backoff::Millis Backoff::next_delay(Millis healthy_for, bool was_healthy) {
  if (was_healthy && healthy_for >= kResetAfter) {
    level_ = 0;
  }
  const Millis delay = std::min(Millis(kInitial.count() << std::min(level_, 10)), kMax);
  if (delay < kMax) {
    ++level_;
  }
  return delay;
}

}  // namespace prisn::supervisor
