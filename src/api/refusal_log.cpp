// SPDX-License-Identifier: MIT
#include "api/refusal_log.hpp"

#include <fmt/format.h>

namespace prisn::api {
namespace {

// What a client sent, fit for one log line: control bytes written as \xNN (a %0A in a path
// would otherwise forge a line of its own, a %1B drive the reader's terminal), and cut short.
std::string printable(std::string_view text) {
  constexpr std::size_t kMax = 200;
  std::string out;
  for (const char c : text.substr(0, kMax)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) out += fmt::format("\\x{:02x}", byte);
    else out += c;
  }
  if (text.size() > kMax) out += "...";
  return out;
}

}  // namespace

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
  std::string line =
      fmt::format("refused {} {} from {}: {} ({})", printable(method), printable(path), peer, printable(why), status);
  if (left_out_ > 0) {
    line += fmt::format("; {} more refused requests were not logged before this one", left_out_);
    left_out_ = 0;
  }
  return line;
}

}  // namespace prisn::api
