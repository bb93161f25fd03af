// SPDX-License-Identifier: MIT
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "prisn/core/time.hpp"
#include "prisn/supervisor/context.hpp"
#include "prisn/supervisor/executions.hpp"

namespace prisn::supervisor {

/// Fires cron deployments on their schedules (SPEC §6.5) in local time. A tick whose
/// previous run is still going is skipped and counted; ticks missed while prisnd was down are
/// not replayed, except one catch-up run when Options::cron_catch_up is set.
/// Thread: control thread.
class CronScheduler {
 public:
  /// `trigger` starts a run of the deployment (the controller does it, as for `prisn trigger`).
  using Trigger = std::function<void(const store::DeploymentRecord&)>;
  /// `skipped` hears of a skipped tick, which changes the deployment (its count, its next run)
  /// though no run starts: the controller announces it to watchers.
  using Skipped = std::function<void(const std::string& ns, const std::string& name)>;

  CronScheduler(Context& ctx, ExecutionRunner& runner, Trigger trigger, Skipped skipped = {});
  ~CronScheduler();

  /// Arms every cron deployment; applies the catch-up policy.
  void start();
  /// (Re)arms one deployment after a change, or disarms it when it is gone or not cron.
  void sync(const std::string& ns, const std::string& name);
  std::optional<WallTime> next_run(const std::string& ns, const std::string& name) const;
  /// What a tick of the schedule does: start a run, or skip and count it when one is still
  /// going. Timers call it; tests call it directly instead of waiting for the wall clock.
  void tick(const std::string& ns, const std::string& name);
  std::uint64_t skipped_total() const { return skipped_total_; }
  void stop();

  struct Entry;

 private:
  /// Sets the entry's next run, the first after `after`, and its timer.
  void arm(Entry& entry, WallTime after);

  Context& ctx_;
  ExecutionRunner& runner_;
  Trigger trigger_;
  Skipped skipped_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Entry>> entries_;
  std::uint64_t skipped_total_ = 0;
};

}  // namespace prisn::supervisor
