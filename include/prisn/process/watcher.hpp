// SPDX-License-Identifier: MIT
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <optional>

namespace prisn::process {

/// Tells when processes end, for children and for adopted processes alike.
///
/// - Children (shims and exec probes that prisnd forked): SIGCHLD, then waitpid. prisnd is a
///   child subreaper, so orphaned descendants of workloads are reaped here too: no zombies.
/// - Adopted processes (left running by a previous prisnd): a pidfd becomes readable when the
///   process exits; where pidfds are unavailable, /proc is polled once a second.
///
/// Callbacks run on the executor's thread. Thread: control thread only.
class ProcessWatcher {
 public:
  /// `status` is the wait(2) status for children, nullopt for adopted processes.
  using ExitCallback = std::function<void(std::optional<int> status)>;

  explicit ProcessWatcher(boost::asio::any_io_executor executor);
  ~ProcessWatcher();
  ProcessWatcher(const ProcessWatcher&) = delete;
  ProcessWatcher& operator=(const ProcessWatcher&) = delete;

  /// Starts handling SIGCHLD and makes this process a child subreaper.
  void start();

  /// Calls `cb` once when child `pid` has been reaped. Register before returning to the
  /// event loop after fork, so the reaper cannot miss it.
  void watch_child(int pid, ExitCallback cb);

  /// Calls `cb` once when the adopted process `pid`, which started at `start_ticks`, exits.
  /// Returns false (and never calls `cb`) when it is not running any more.
  bool watch_adopted(int pid, std::uint64_t start_ticks, ExitCallback cb);

  /// Forgets a registration (the callback will not be called).
  void forget(int pid);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace prisn::process
