// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "prisn/core/error.hpp"
#include "prisn/model/execution.hpp"

namespace prisn::process {

/// What to start and where its output and exit status go.
struct SpawnSpec {
  std::string program;             ///< absolute path of the executable
  std::vector<std::string> argv;   ///< argv[0] included
  std::vector<std::string> env;    ///< "NAME=value", the whole environment
  std::filesystem::path cwd;
  std::filesystem::path log_file;   ///< stdout and stderr, opened O_APPEND
  std::filesystem::path exit_file;  ///< where the shim records the wait status
  std::filesystem::path cgroup;     ///< empty = no cgroup
  /// When set, the workload gets a private mount namespace with this file bind-mounted over
  /// /etc/resolv.conf (needs root); on failure it runs with the node's file and says so.
  std::filesystem::path resolv_conf;
  /// Bridge mode: bind-mounted over /etc/hosts in that same mount namespace.
  std::filesystem::path hosts_file;
  /// Bridge mode: the network namespace the workload joins (/run/netns/NAME); a workload that
  /// cannot join it does not run (exit 126), rather than run on the node's network.
  std::filesystem::path netns;
};

/// Starts `spec.program` under a shim and returns both pids with their start times.
///
/// The shim is a forked copy of prisnd that starts a new session (so the workload has its
/// own process group), forks the workload, waits for it and writes its wait(2) status to
/// `exit_file`, then exits. prisnd learns the workload's end when the shim exits, and a
/// restarted prisnd can still learn how a workload it did not see end has ended, because
/// the status outlives both. The workload's output goes straight to `log_file`, never
/// through prisnd. The shim ignores SIGTERM/SIGINT/SIGHUP so that a signal sent to the
/// process group reaches the workload while the shim stays to record the outcome.
///
/// Only async-signal-safe calls happen between fork and exec. Thread: control thread.
Result<model::ProcessRef> spawn(const SpawnSpec& spec);

/// The wait(2) status the shim recorded, or nullopt when there is none (yet).
std::optional<int> read_exit_status(const std::filesystem::path& exit_file);
/// When the shim recorded it (the file's modification time): when the process ended, also
/// when that was while prisnd was not running.
std::optional<std::chrono::system_clock::time_point> exit_status_time(const std::filesystem::path& exit_file);

/// An instance's namespaces, for a helper to run in (an empty path: prisnd's own).
struct InstanceNamespaces {
  std::filesystem::path net;  ///< bridge mode: its network namespace
  std::filesystem::path mnt;  ///< its mount namespace (/proc/PID/ns/mnt): its resolv.conf and hosts
};

/// Forks and execs `argv` directly (no shim) with stdout/stderr to /dev/null, in its own
/// process group; for short-lived helpers such as exec health checks. Returns the pid.
Result<int> spawn_simple(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         const std::filesystem::path& cwd, const InstanceNamespaces& namespaces = {});

}  // namespace prisn::process
