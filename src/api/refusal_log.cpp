// SPDX-License-Identifier: MIT
#include "api/refusal_log.hpp"

#include <fmt/format.h>

namespace prisn::api {

std::optional<std::string> RefusalLog::refused(std::string_view peer, std::string_view method, std::string_view path,
                                               int status, std::string_view why,
                                               std::chrono::steady_clock::time_point now) {
  if (!minute_start_ || now - *minute_start_ >= std::chrono::minutes(1)) {
    minute_start_ = now;
    lines_this_minute_ = 0;
  }
  if (lines_this_minute_ == kLinesPerMinute) {
    ++left_out_;
    return std::nullopt;
  }
  ++lines_this_minute_;
  std::string line = fmt::format("refused {} {} from {}: {} ({})", method, path, peer, why, status);
  if (left_out_ > 0) {
    line += fmt::format("; {} more refused requests were not logged before this one", left_out_);
    left_out_ = 0;
  }
  return line;
}

}  // namespace prisn::api
