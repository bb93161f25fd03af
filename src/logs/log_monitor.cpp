// SPDX-License-Identifier: MIT
#include "prisn/logs/log_monitor.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "prisn/core/time.hpp"

namespace prisn::logs {

LogMonitor::LogMonitor(boost::asio::any_io_executor executor, std::chrono::milliseconds interval)
    : timer_(executor), gap_timer_(executor), inotify_(executor), interval_(interval) {
  // Without inotify, the sweep alone dates lines.
  if (const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC); fd >= 0) inotify_.assign(fd);
}

void LogMonitor::add(const std::filesystem::path& path, Policy policy) {
  auto it = watched_.find(path);
  if (it != watched_.end()) {
    // A second process writes here: the new instance of a rolling restart starts before the
    // old one (same name, same log) stops. The file stays watched until both are removed.
    ++it->second.writers;
    it->second.policy = policy;
  } else {
    it = watched_.emplace(path, Watched{policy, LogFile(path).last_checkpoint()}).first;
    if (inotify_.is_open()) arm(path, it->second);  // before the scan: a write after it is reported
  }
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
  if (--it->second.writers > 0) return;
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
  const auto before = w.last_checkpoint;
  auto [first, last] = listeners_->by_path.equal_range(it->first);
  LogFile(it->first).scan(to_epoch_ms(WallClock::now()), w.policy, w.last_checkpoint, [&](const Rotation& done) {
    for (auto l = first; l != last; ++l) l->second.rotated(done);
  });
  if (w.last_checkpoint != before) {
    for (auto l = first; l != last; ++l) l->second.grew();
  }
}

LogMonitor::Subscription LogMonitor::subscribe(const std::filesystem::path& path, std::function<void()> grew,
                                               std::function<void(const Rotation&)> rotated) {
  const auto id = ++listeners_->next_id;
  listeners_->by_path.emplace(path, Listener{id, std::move(grew), std::move(rotated)});
  return Subscription(listeners_, path, id);
}

LogMonitor::Subscription& LogMonitor::Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    release();
    listeners_ = std::move(other.listeners_);
    path_ = std::move(other.path_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

LogMonitor::Subscription::~Subscription() { release(); }

void LogMonitor::Subscription::release() {
  auto listeners = listeners_.lock();
  if (!listeners || id_ == 0) return;
  auto [first, last] = listeners->by_path.equal_range(path_);
  for (auto l = first; l != last; ++l) {
    if (l->second.id == id_) {
      listeners->by_path.erase(l);
      break;
    }
  }
  id_ = 0;
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
    if (ec || !running_) {  // closed by stop(), or inotify failed: the sweep goes on
      reading_ = false;
      return;
    }
    on_events(n);
    read_events();
  });
}

// A one-shot watch on `path`: one report of a write, then the kernel drops it, so that a
// process writing all the time wakes prisnd once per gap, not once per write.
bool LogMonitor::arm(const std::filesystem::path& path, Watched& w) {
  w.watch = ::inotify_add_watch(inotify_.native_handle(), path.c_str(), IN_MODIFY | IN_ONESHOT);
  if (w.watch < 0) return false;
  by_watch_[w.watch] = path;
  return true;
}

// The `bytes` of reports in events_: each file written to is scanned now, and watched again
// (and scanned once more, for what came meanwhile) when the gap is over.
void LogMonitor::on_events(std::size_t bytes) {
  for (std::size_t at = 0; at + sizeof(inotify_event) <= bytes;) {
    inotify_event event;
    std::memcpy(&event, events_.data() + at, sizeof event);
    at += sizeof event + event.len;
    if (event.mask & IN_Q_OVERFLOW) {  // reports were lost: every file, as if written to
      for (auto& [path, w] : watched_) rearm_.insert(path);
      continue;
    }
    auto by = by_watch_.find(event.wd);
    if (by == by_watch_.end()) continue;  // e.g. the IN_IGNORED that follows a one-shot report
    const std::filesystem::path path = by->second;
    by_watch_.erase(by);
    auto it = watched_.find(path);
    if (it == watched_.end() || it->second.watch != event.wd) continue;
    it->second.watch = -1;
    if (event.mask & IN_IGNORED) continue;  // the file is gone; the sweep still looks at its path
    scan(it);
    it->second.quiet_scans = 0;
    rearm_.insert(path);
  }
  if (!rearm_.empty() && !gap_timer_armed_) {
    gap_timer_armed_ = true;
    gap_timer_.expires_after(kMinGap);
    gap_timer_.async_wait([this](const boost::system::error_code& ec) {
      gap_timer_armed_ = false;
      if (!ec && running_) rearm_written();
    });
  }
}

void LogMonitor::rearm_written() {
  for (const auto& path : std::exchange(rearm_, {})) {
    auto it = watched_.find(path);
    if (it == watched_.end()) continue;
    arm(path, it->second);  // first, so a write after it is reported; a watch still set stays
    scan(it);
  }
}

}  // namespace prisn::logs
