// SPDX-License-Identifier: MIT
#include "prisn/model/quantity.hpp"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <utility>

namespace prisn::model {
namespace {

// Splits "12.5Mi" into 12.5 and "Mi"; false when the number part is malformed.
bool split_number(std::string_view text, double& number, std::string_view& suffix) {
  std::size_t i = 0;
  bool digits = false;
  bool dot = false;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || (text[i] == '.' && !dot))) {
    dot = dot || text[i] == '.';
    digits = digits || text[i] != '.';
    ++i;
  }
  if (!digits || i > 20) {
    return false;
  }
  number = std::stod(std::string(text.substr(0, i)));
  suffix = text.substr(i);
  return true;
}

}  // namespace

Result<std::uint64_t> parse_memory_quantity(std::string_view text) {
  static constexpr std::array<std::pair<std::string_view, double>, 11> kSuffixes = {{
      {"", 1.0}, {"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
      {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0}, {"B", 1.0},
  }};
  double number = 0;
  std::string_view suffix;
  if (split_number(text, number, suffix)) {
    for (const auto& [name, scale] : kSuffixes) {
      if (suffix == name) {
        const double bytes = std::floor(number * scale);
        if (bytes >= 1.0 && bytes < 1.8e19) {
          return static_cast<std::uint64_t>(bytes);
        }
      }
    }
  }
  return Error::invalid(
      fmt::format("'{}' is not a memory size (examples: 256Mi, 1Gi, 500M)", text.substr(0, 40)));
}

Result<std::uint32_t> parse_cpu_quantity(std::string_view text) {
  double number = 0;
  std::string_view suffix;
  if (split_number(text, number, suffix)) {
    const double millis = suffix == "m" ? number : (suffix.empty() ? number * 1000 : -1);
    if (millis >= 1.0 && millis <= 1e6) {
      return static_cast<std::uint32_t>(millis);
    }
  }
  return Error::invalid(
      fmt::format("'{}' is not a CPU amount (examples: 500m, 0.5, 2)", text.substr(0, 40)));
}

}  // namespace prisn::model
