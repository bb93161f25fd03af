// SPDX-License-Identifier: MIT
// ServiceManager's private state, shared by its two source files.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <optional>

#include "prisn/supervisor/backoff.hpp"
#include "prisn/supervisor/services.hpp"

namespace prisn::supervisor {

using SteadyClock = std::chrono::steady_clock;

struct ServiceManager::Instance {
  explicit Instance(boost::asio::any_io_executor ex) : stop_timer(ex) {}

  enum class State { kRunning, kDraining, kStopping };

  std::string id;
  std::string ns;
  std::string deployment;
  std::string name;  // NAME-index
  int index = 0;
  std::int64_t generation = 0;
  std::vector<std::uint16_t> ports;
  std::string ip = "127.0.0.1";   // bridge mode: its own address on prisn0
  std::filesystem::path netns;    // bridge mode: its network namespace, for exec checks
  model::ProcessRef process;
  std::filesystem::path cgroup;
  std::filesystem::path log_file;
  WallTime started_at{};
  SteadyClock::time_point started_steady{};
  State state = State::kRunning;
  bool healthy = false;
  bool ever_healthy = false;
  SteadyClock::time_point healthy_since{};  ///< when it last turned healthy (the backoff's reset counts from here)
  /// Re-adopted after a restart of prisnd, its first check not in yet: out of rotation, but
  /// still taken as serving by a roll (which must not replace it before it has been checked).
  bool unchecked = false;
  bool kill_sent = false;
  boost::asio::steady_timer stop_timer;
  std::shared_ptr<std::atomic<int>> connections = std::make_shared<std::atomic<int>>(0);

  bool serving() const { return state == State::kRunning; }
};

/// One index's history across incarnations.
struct Slot {
  std::int64_t generation = 0;  ///< of the spec its backoff and restarts count for
  Backoff backoff;
  int restarts = 0;            ///< restarts that happened: counted when the new process starts
  bool restart_due = false;    ///< the last process ended and the next start is a restart
  std::unique_ptr<boost::asio::steady_timer> restart_timer;  // set while backing off
  SteadyClock::time_point restart_at{};
  bool exited_for_good = false;  // the restart policy said no
  std::string last_exit;
};

struct ServiceManager::Service {
  std::string ns;
  std::string name;
  std::vector<std::unique_ptr<Instance>> instances;
  std::map<int, Slot> slots;
  std::string failure;  // why the current generation cannot run at all
  std::int64_t failed_generation = -1;
  bool warned_unenforced = false;
  std::uint64_t restarts_total = 0;  // every slot's, ever: a rollout starts slots afresh, not this
};

}  // namespace prisn::supervisor
