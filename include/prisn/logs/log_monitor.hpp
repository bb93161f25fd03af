// SPDX-License-Identifier: MIT
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <map>

#include "prisn/logs/log_file.hpp"

namespace prisn::logs {

/// Watches the logs of running processes: records index checkpoints and rotates files over
/// their size limit, every `interval` while a file grows; a file that stopped growing is
/// looked at every 4 intervals only, so a thousand quiet services cost little.
/// Thread: control thread.
class LogMonitor {
 public:
  LogMonitor(boost::asio::any_io_executor executor, std::chrono::milliseconds interval);

  void add(const std::filesystem::path& path, Policy policy);
  /// A last scan (so the final lines get their time), then stops watching.
  void remove(const std::filesystem::path& path);
  /// Scans one file now (e.g. when its process has just ended).
  void scan(const std::filesystem::path& path);
  void stop();

 private:
  struct Watched {
    Policy policy;
    std::uint64_t last_checkpoint = 0;
    unsigned quiet_scans = 0;  ///< scans in a row that found no new output
  };
  void schedule();
  void scan_all();

  boost::asio::steady_timer timer_;
  std::chrono::milliseconds interval_;
  std::map<std::filesystem::path, Watched> watched_;
  bool running_ = false;
  std::uint64_t tick_ = 0;
};

}  // namespace prisn::logs
