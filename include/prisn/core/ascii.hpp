// SPDX-License-Identifier: MIT
#pragma once
#include <string_view>

namespace prisn {

/// ASCII lowercase of one byte: names, header fields and schemes compare with this, never
/// with the locale.
constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

/// ASCII case-insensitive equality. Written here rather than taken from Beast: Boost 1.81's
/// beast::iequals reads one byte past `a` when the two differ only in case, which is past the
/// end of the buffer when `a` is a view of the end of a request's target.
constexpr bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace prisn
