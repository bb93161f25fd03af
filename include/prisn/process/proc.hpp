// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace prisn::process {

/// The start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat), or nullopt
/// when the process does not exist. Together with the pid it names one process for good.
std::optional<std::uint64_t> start_ticks(int pid);

/// True when `pid` is alive (not a zombie) and started at `ticks`: the same process as the one
/// recorded, not a later process that reused the pid.
bool is_same_process(int pid, std::uint64_t ticks);

/// Human name of a signal ("SIGKILL"), or "signal N".
std::string signal_name(int sig);

/// A short description of a wait(2) status: "exit code 3", "killed by signal 9 (SIGKILL)".
std::string describe_wait_status(int status);

/// Resident set size of this process in bytes (from /proc/self/statm).
std::uint64_t self_rss_bytes();

/// The pids of all children of `pid` (from /proc/PID/task/*/children).
std::vector<int> children_of(int pid);

}  // namespace prisn::process
