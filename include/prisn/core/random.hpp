// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <string>

namespace prisn {

/// `bytes` random bytes from the kernel (getrandom), hex-encoded: 2 × bytes characters.
/// Used for execution ids, instance ids and tokens. Thread-safe.
std::string random_hex(std::size_t bytes);

/// Fills `out` with `n` bytes from the kernel's CSPRNG; aborts if the kernel cannot supply them.
void random_bytes(void* out, std::size_t n);

}  // namespace prisn
