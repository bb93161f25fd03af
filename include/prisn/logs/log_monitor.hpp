// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <filesystem>
#include <map>
#include <set>

#include "prisn/logs/log_file.hpp"

namespace prisn::logs {

/// Watches the logs of running processes: records index checkpoints and rotates files over
/// their size limit.
///
/// A checkpoint is what dates a line (LogFile), so it is taken as soon as a file grows:
/// inotify reports a write, and the file is scanned then. Its watch is one-shot: it is set
/// again, and the file scanned again, `kMinGap` later, so a process that writes all the time
/// wakes prisnd once per gap, however much it writes. Lines of several instances are thus
/// merged in time order to within about `kMinGap`. Every `interval` a sweep scans the
/// files that grew (those quiet for a while every 4 intervals only): it rotates them, and it
/// is what dates lines when inotify cannot be used. Thread: control thread.
class LogMonitor {
 public:
  static constexpr std::chrono::milliseconds kMinGap{10};

  LogMonitor(boost::asio::any_io_executor executor, std::chrono::milliseconds interval);

  /// Starts watching `path` (which exists) and scans it at once, for output written already.
  /// Each add() is matched by a remove(): two processes may write one log for a while.
  void add(const std::filesystem::path& path, Policy policy);
  /// A last scan (so the final lines get their time), then, once every add() of `path` has
  /// been matched, stops watching.
  void remove(const std::filesystem::path& path);
  /// Scans one file now (e.g. when its process has just ended).
  void scan(const std::filesystem::path& path);
  void stop();

  /// For as long as the returned handle lives (it may outlive the monitor): calls `grew` each
  /// time a scan finds `path` grown (within kMinGap of a write, where inotify works), and
  /// `rotated` each time its head has been moved to a backup.
  class Subscription;
  Subscription subscribe(const std::filesystem::path& path, std::function<void()> grew,
                         std::function<void(const Rotation&)> rotated);

 private:
  struct Watched {
    Policy policy;
    std::uint64_t last_checkpoint = 0;
    unsigned quiet_scans = 0;  ///< sweeps in a row that found no new output
    unsigned writers = 1;      ///< add() calls not yet matched by a remove()
    int watch = -1;            ///< inotify watch descriptor, or -1
  };
  using Files = std::map<std::filesystem::path, Watched>;

  void schedule();
  void scan_all();
  void scan(Files::iterator it);
  void read_events();
  bool arm(const std::filesystem::path& path, Watched& w);
  void on_events(std::size_t bytes);
  void rearm_written();

  struct Listener {
    std::uint64_t id;
    std::function<void()> grew;
    std::function<void(const Rotation&)> rotated;
  };
  struct Listeners {
    std::multimap<std::filesystem::path, Listener> by_path;
    std::uint64_t next_id = 0;
  };
  std::shared_ptr<Listeners> listeners_ = std::make_shared<Listeners>();

  boost::asio::steady_timer timer_;
  boost::asio::steady_timer gap_timer_;  // until the files written to are watched again
  bool gap_timer_armed_ = false;
  std::set<std::filesystem::path> rearm_;  // written to: watch and scan again after the gap
  boost::asio::posix::stream_descriptor inotify_;  // closed when inotify is unavailable
  alignas(8) std::array<char, 8192> events_{};
  std::map<int, std::filesystem::path> by_watch_;
  std::chrono::milliseconds interval_;
  Files watched_;
  bool running_ = false;
  bool reading_ = false;
  std::uint64_t tick_ = 0;
};

/// A rotation listener's registration; ends it when destroyed.
class LogMonitor::Subscription {
 public:
  Subscription() = default;
  Subscription(std::weak_ptr<Listeners> listeners, std::filesystem::path path, std::uint64_t id)
      : listeners_(std::move(listeners)), path_(std::move(path)), id_(id) {}
  Subscription(Subscription&& other) noexcept { *this = std::move(other); }
  Subscription& operator=(Subscription&& other) noexcept;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription();

 private:
  void release();

  std::weak_ptr<Listeners> listeners_;
  std::filesystem::path path_;
  std::uint64_t id_ = 0;
};

}  // namespace prisn::logs
