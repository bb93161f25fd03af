// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "prisn/core/error.hpp"

namespace prisn::process {

/// Limits applied to one process tree's cgroup (0 = no limit).
struct Limits {
  std::uint64_t memory_bytes = 0;
  std::uint32_t cpu_millis = 0;
  std::uint32_t pids = 0;
};

/// One cgroup per process tree, so that stopping an instance or an execution reaches every
/// descendant, including those that left the process group (setsid daemons).
///
/// Uses a writable cgroup v2 hierarchy: /sys/fs/cgroup on a unified system, or the v2 mount
/// at /sys/fs/cgroup/unified on a hybrid (v1 + v2) one, where v2 tracks and kills processes
/// but has no resource controllers. Without one, prisn degrades to process groups and says so.
/// Each data directory gets its own subtree, so several prisnd on one machine never touch
/// each other's processes. Thread: control thread.
class Cgroups {
 public:
  /// Prepares the subtree for `data_dir`; `available()` tells whether it worked.
  static Cgroups detect(const std::filesystem::path& data_dir);

  bool available() const { return !base_.empty(); }
  /// One line for the startup log: where process trees are tracked, or why they are not.
  const std::string& description() const { return description_; }
  /// Controllers usable for limits ("memory", "pids", "cpu"), possibly none.
  const std::vector<std::string>& controllers() const { return controllers_; }
  const std::filesystem::path& base() const { return base_; }
  /// Where the cgroup v2 hierarchy is mounted ("/sys/fs/cgroup", or ".../unified").
  const std::filesystem::path& mount() const { return mount_; }

  /// The group that holds the runs of deployment `ns`/`name`, one cgroup each, so that the
  /// network filter can tell whose run opened a connection (SPEC §7.6). The name cannot be
  /// an id: ids have no dots.
  static std::string run_group(const std::string& ns, const std::string& name);
  /// Creates the group `group` (kept when its runs end: a network filter may name it) with
  /// the subtree's controllers passed on to its children.
  Result<std::filesystem::path> ensure_group(const std::string& group) const;

  /// Creates the cgroup `name` with `limits`, in `group` if one is given; returns its
  /// directory. Limits whose controller is missing are skipped; `unenforced` lists them.
  Result<std::filesystem::path> create(const std::string& name, const Limits& limits,
                                       std::vector<std::string>& unenforced, const std::string& group = {}) const;
  std::vector<int> pids(const std::filesystem::path& dir) const;
  /// Sends `sig` to every process in the cgroup; returns how many it signalled.
  std::size_t signal_all(const std::filesystem::path& dir, int sig) const;
  /// Asks a workload to stop: `sig` once to each of its processes, those of its `cgroup`, or
  /// (no cgroup, or nobody in it) the process group its shim leads (the shim ignores it). Both
  /// would give a workload that handles the signal a second one, which may come while it exits.
  void signal_workload(const std::filesystem::path& cgroup, int shim_pid, int sig) const;
  /// SIGKILL to every process in the cgroup (cgroup.kill where the kernel has it).
  void kill_all(const std::filesystem::path& dir) const;
  /// Removes an empty cgroup; false while processes remain.
  bool remove(const std::filesystem::path& dir) const;
  /// The process trees' cgroups under this data directory's subtree, those in groups too.
  std::vector<std::filesystem::path> list() const;
  /// Removes the groups that hold nothing (at start, before a network filter names any).
  void remove_empty_groups() const;

 private:
  std::filesystem::path mount_;
  std::filesystem::path base_;
  std::string description_;
  std::vector<std::string> controllers_;
};

}  // namespace prisn::process
