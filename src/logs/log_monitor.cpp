// SPDX-License-Identifier: MIT
#include "prisn/logs/log_monitor.hpp"

#include "prisn/core/time.hpp"

namespace prisn::logs {

LogMonitor::LogMonitor(boost::asio::any_io_executor executor, std::chrono::milliseconds interval)
    : timer_(executor), interval_(interval) {}

void LogMonitor::add(const std::filesystem::path& path, Policy policy) {
  watched_[path] = {policy, LogFile(path).last_checkpoint()};
  if (!running_) {
    running_ = true;
    schedule();
  }
}

void LogMonitor::remove(const std::filesystem::path& path) {
  scan(path);
  watched_.erase(path);
}

void LogMonitor::scan(const std::filesystem::path& path) {
  auto it = watched_.find(path);
  if (it != watched_.end()) {
    LogFile(path).scan(to_epoch_ms(WallClock::now()), it->second.policy, it->second.last_checkpoint);
  }
}

void LogMonitor::stop() {
  running_ = false;
  timer_.cancel();
}

void LogMonitor::schedule() {
  timer_.expires_after(interval_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !running_) {
      return;
    }
    scan_all();
    schedule();
  });
}

void LogMonitor::scan_all() {
  constexpr unsigned kQuietEvery = 4;
  const auto now = to_epoch_ms(WallClock::now());
  ++tick_;
  for (auto& [path, w] : watched_) {
    if (w.quiet_scans >= kQuietEvery && tick_ % kQuietEvery != 0) {
      continue;
    }
    const auto before = w.last_checkpoint;
    LogFile(path).scan(now, w.policy, w.last_checkpoint);
    w.quiet_scans = w.last_checkpoint == before ? w.quiet_scans + 1 : 0;
  }
}

}  // namespace prisn::logs
