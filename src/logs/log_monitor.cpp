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
  const auto now = to_epoch_ms(WallClock::now());
  for (auto& [path, w] : watched_) {
    LogFile(path).scan(now, w.policy, w.last_checkpoint);
  }
}

}  // namespace prisn::logs
