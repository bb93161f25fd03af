// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string_view>

namespace prisn {

/// FNV-1a, 64 bits: a short, stable fingerprint of `text` for names and change markers, not
/// for anything an attacker chooses against (written here: a few lines no library needs to
/// provide). `basis` is FNV's offset basis unless a caller must keep an older value.
constexpr std::uint64_t fnv1a64(std::string_view text, std::uint64_t basis = 14695981039346656037ULL) {
  std::uint64_t hash = basis;
  for (const char c : text) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return hash;
}

}  // namespace prisn
