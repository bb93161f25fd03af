// SPDX-License-Identifier: MIT
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "prisn/model/deployment.hpp"
#include "prisn/process/spawn.hpp"
#include "prisn/process/watcher.hpp"

namespace prisn::health {

/// One instance to check, with its check's ports already mapped to the instance's real
/// address (SPEC §7.3).
struct Target {
  std::string id;  ///< instance id
  model::HealthCheck check;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;        ///< tcp/http: where to connect
  std::vector<std::string> env;  ///< exec: the instance's environment
  std::filesystem::path cwd;     ///< exec: the instance's working directory
  process::InstanceNamespaces namespaces;  ///< exec: the instance's, to run the command in
  bool initially_healthy = false;  ///< re-adopted instances were serving: keep them in rotation
};

/// Runs tcp, http and exec checks on their intervals and reports healthy/unhealthy changes.
///
/// A new target starts out of rotation and enters after its first passing check; until then
/// it is probed every 250 ms (for at most 30 s) so a fresh instance joins quickly. After that
/// it leaves rotation after `failureThreshold` consecutive failures and returns after
/// `successThreshold` passes. Probes are Asio coroutines: none blocks the event loop; exec
/// checks are child processes with their own timeout.
/// Thread: control thread (construct, add, remove and callbacks).
class Checker {
 public:
  using OnChange = std::function<void(const std::string& id, bool healthy)>;

  struct Stats {
    std::atomic<std::uint64_t> passed{0};
    std::atomic<std::uint64_t> failed{0};
  };

  Checker(boost::asio::any_io_executor executor, process::ProcessWatcher& watcher, OnChange on_change);
  ~Checker();

  void add(Target target);
  void remove(const std::string& id);
  bool healthy(const std::string& id) const;
  /// Why target `id`'s checks fail ("GET /health: status 500, expected 2xx"): its last failure
  /// while the latest check failed, else "".
  std::string last_failure(const std::string& id) const;
  const Stats& stats() const { return stats_; }

  struct State;

 private:
  boost::asio::any_io_executor executor_;
  process::ProcessWatcher& watcher_;
  OnChange on_change_;
  std::map<std::string, std::shared_ptr<State>> targets_;
  Stats stats_;
};

}  // namespace prisn::health
