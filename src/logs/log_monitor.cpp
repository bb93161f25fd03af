// SPDX-License-Identifier: MIT
#include "prisn/logs/log_monitor.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cstring>

#include "prisn/core/time.hpp"

namespace prisn::logs {

namespace {

int open_inotify() { return ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC); }

}  // namespace

LogMonitor::LogMonitor(boost::asio::any_io_executor executor, std::chrono::milliseconds interval)
    : timer_(executor), gap_timer_(executor), inotify_(executor), interval_(interval) {
  if (const int fd = open_inotify(); fd >= 0) inotify_.assign(fd);  // else the sweep alone dates lines
}

void LogMonitor::add(const std::filesystem::path& path, Policy policy) {
  Watched w{policy, LogFile(path).last_checkpoint()};
  if (inotify_.is_open()) {
    w.watch = ::inotify_add_watch(inotify_.native_handle(), path.c_str(), IN_MODIFY);
    if (w.watch >= 0) by_watch_[w.watch] = path;
  }
  auto [it, added] = watched_.insert_or_assign(path, w);
  scan(it);
  if (!running_) {
    running_ = true;
    schedule();
  }
  if (!reading_ && inotify_.is_open()) read_events();
}

void LogMonitor::remove(const std::filesystem::path& path) {
  auto it = watched_.find(path);
  if (it == watched_.end()) return;
  scan(it);
  if (it->second.watch >= 0) {
    ::inotify_rm_watch(inotify_.native_handle(), it->second.watch);
    by_watch_.erase(it->second.watch);
  }
  watched_.erase(it);
}

void LogMonitor::scan(const std::filesystem::path& path) {
  if (auto it = watched_.find(path); it != watched_.end()) scan(it);
}

void LogMonitor::scan(Files::iterator it) {
  Watched& w = it->second;
  LogFile(it->first).scan(to_epoch_ms(WallClock::now()), w.policy, w.last_checkpoint);
  w.last_scan = Clock::now();
  w.pending = false;
}

void LogMonitor::stop() {
  running_ = false;
  timer_.cancel();
  gap_timer_.cancel();
  boost::system::error_code ignored;
  inotify_.close(ignored);
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
  ++tick_;
  for (auto it = watched_.begin(); it != watched_.end(); ++it) {
    Watched& w = it->second;
    if (w.quiet_scans >= kQuietEvery && tick_ % kQuietEvery != 0) {
      continue;
    }
    const auto before = w.last_checkpoint;
    scan(it);
    w.quiet_scans = w.last_checkpoint == before ? w.quiet_scans + 1 : 0;
  }
}

void LogMonitor::read_events() {
  reading_ = true;
  inotify_.async_read_some(boost::asio::buffer(events_), [this](const boost::system::error_code& ec, std::size_t n) {
    reading_ = false;
    if (ec || !running_) return;  // closed by stop(), or inotify failed: the sweep goes on
    for (std::size_t at = 0; at + sizeof(inotify_event) <= n;) {
      inotify_event event;
      std::memcpy(&event, events_.data() + at, sizeof event);
      at += sizeof event + event.len;
      if (event.mask & IN_Q_OVERFLOW) {
        for (auto& [path, w] : watched_) written(path);
      } else if (auto it = by_watch_.find(event.wd); it != by_watch_.end()) {
        if (event.mask & IN_IGNORED) {  // the file is gone; the sweep still looks at its path
          if (auto f = watched_.find(it->second); f != watched_.end()) f->second.watch = -1;
          by_watch_.erase(it);
        } else {
          written(it->second);
        }
      }
    }
    read_events();
  });
}

// A write to `path`: scanned now, or at the end of its gap after the last scan.
void LogMonitor::written(const std::filesystem::path& path) {
  auto it = watched_.find(path);
  if (it == watched_.end()) return;
  Watched& w = it->second;
  const auto due = w.last_scan + kMinGap;
  if (Clock::now() >= due) {
    scan(it);
    w.quiet_scans = 0;
    return;
  }
  w.pending = true;
  if (!gap_timer_armed_) {
    gap_timer_armed_ = true;
    gap_timer_.expires_at(due);
    gap_timer_.async_wait([this](const boost::system::error_code& ec) {
      gap_timer_armed_ = false;
      if (!ec && running_) scan_pending();
    });
  }
}

void LogMonitor::scan_pending() {
  for (auto& [path, w] : watched_) {
    if (w.pending) written(path);  // scans those whose gap is over, re-arms for the rest
  }
}

}  // namespace prisn::logs
