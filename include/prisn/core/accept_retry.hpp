// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>

namespace prisn {

/// How long a listener waits after a failed accept before it accepts again. The usual cause is
/// running out of descriptors (EMFILE), which lasts until some connection closes: an accept
/// retried at once fails at once, and the loop would spin, a core at 100%, starving every other
/// handler of its thread (DNS over UDP included). nginx pauses its accepts for the same reason.
inline constexpr auto kAcceptRetryPause = std::chrono::milliseconds(50);

}  // namespace prisn
