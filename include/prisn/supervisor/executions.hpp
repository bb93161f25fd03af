// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "prisn/model/deployment.hpp"
#include "prisn/model/execution.hpp"
#include "prisn/supervisor/context.hpp"

namespace prisn::supervisor {

/// Runs executions (SPEC §6.3): one process tree each, in its own working directory, process
/// group and cgroup, output straight to its log file; enforces timeouts; cancels; keeps the
/// history bounded; re-adopts runs that outlived a previous prisnd. A triggered run whose
/// deployment has restartPolicy on-failure is started again after a failed exit (not after a
/// cancel or timeout), up to 6 times, 1 s apart and doubling: one execution, `attempts` long.
/// Thread: control thread.
class ExecutionRunner {
 public:
  using Listener = std::function<void(const model::Execution&)>;

  ExecutionRunner(Context& ctx, Listener on_change);
  ~ExecutionRunner();

  /// Starts `e` (id, ns, runtime, source... filled in). `spec` is the deployment for
  /// triggered runs (its secrets are injected), null for runs from source. The result is
  /// the stored record: Running, or Failed when it could not start (missing interpreter...).
  Result<model::Execution> start(model::Execution e, const model::DeploymentSpec* spec);

  /// SIGTERM, the grace period, SIGKILL; the execution ends Failed with error "cancelled".
  Result<model::Execution> cancel(const std::string& id);

  /// Stops every running execution of a deployment as cancel() does, `reason` its error.
  void stop_for(const std::string& ns, const std::string& deployment, const std::string& reason);

  /// Adopts the unfinished executions recorded by a previous prisnd.
  void adopt();

  bool running_for(const std::string& ns, const std::string& deployment) const;
  /// The live record of a running execution, or null.
  const model::Execution* active(const std::string& id) const;
  std::size_t active_count() const;
  /// Ids of running executions (for the cgroup orphan scan).
  std::vector<std::string> active_ids() const;

  /// Calls `cb` once the execution has ended (at once if it is not running).
  void when_done(const std::string& id, std::function<void()> cb);

  /// Stops every running execution: SIGTERM now, SIGKILL after the grace period.
  void terminate_all();

  struct Running;

 private:
  void finish(const std::string& id, std::optional<int> reaped_status);
  /// Whether a run whose process ended with `status` starts again (restartPolicy on-failure).
  bool retries_after(const Running& run, const std::optional<int>& status) const;
  void wait_to_retry(Running& run, int status, std::optional<WallTime> ended);
  void retry(const std::string& id);
  /// Records the run's end and forgets it; `ended`: when its process ended, if known.
  void complete(const std::string& id, std::optional<int> status, std::optional<WallTime> ended);
  Result<model::ProcessRef> spawn_attempt(const model::Execution& e, const model::DeploymentSpec* spec,
                                            std::filesystem::path& cgroup);
  void terminate(Running& run);
  void watch(Running& run, bool adopted);

  Context& ctx_;
  Listener on_change_;
  std::map<std::string, std::unique_ptr<Running>> running_;
};

/// "ex-" and 12 hex digits.
std::string new_execution_id();

}  // namespace prisn::supervisor
