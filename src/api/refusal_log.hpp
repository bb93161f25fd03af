// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace prisn::api {

/// Which refused API requests (401, 403) get a line in prisnd's log, with the peer's address,
/// as sshd logs a failed login; what the client sent is written with its control bytes
/// escaped. At most kLinesPerMinute lines a minute, so that a client retrying a wrong token in
/// a loop cannot fill the disk; the first line of the next minute says how many were left out.
/// Not thread-safe: the API runs on the control thread.
class RefusalLog {
 public:
  static constexpr int kLinesPerMinute = 20;

  /// The line to log for a request refused at `now`, or nothing when this minute's lines are
  /// used up.
  std::optional<std::string> refused(std::string_view peer, std::string_view method, std::string_view path,
                                     int status, std::string_view why, std::chrono::steady_clock::time_point now);

 private:
  std::optional<std::chrono::steady_clock::time_point> minute_start_;
  int lines_this_minute_ = 0;
  std::uint64_t left_out_ = 0;
};

}  // namespace prisn::api
