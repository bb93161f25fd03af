// SPDX-License-Identifier: MIT
#include "prisn/supervisor/executions.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include "prisn/core/files.hpp"
#include "prisn/core/log.hpp"
#include "prisn/core/random.hpp"
#include "prisn/model/runtime.hpp"
#include "prisn/process/interpreter.hpp"
#include "prisn/process/proc.hpp"
#include "prisn/process/spawn.hpp"
#include "prisn/supervisor/environment.hpp"

namespace prisn::supervisor {
namespace asio = boost::asio;
namespace fs = std::filesystem;
using model::ExecStatus;
using model::Execution;

struct ExecutionRunner::Running {
  Running(asio::any_io_executor ex, Execution exec)
      : e(std::move(exec)), timeout_timer(ex), kill_timer(ex), retry_timer(ex) {}
  Execution e;
  asio::steady_timer timeout_timer;
  asio::steady_timer kill_timer;
  asio::steady_timer retry_timer;
  std::string stop_reason;  // why prisn stopped it: "cancelled", a shutdown
  bool terminating = false;
  bool kill_sent = false;
  bool waiting = false;              // no process: an attempt failed and the next one waits its turn
  std::optional<int> last_status;    // while waiting: how the failed attempt ended
  fs::path cgroup;
  std::vector<std::function<void()>> waiters;
};

namespace {

auto& log() {
  static auto l = logger("executions");
  return l;
}

// Retries of a failed run under restartPolicy on-failure: as many as the Kubernetes Job that
// `prisn k8s render` writes for it allows (backoffLimit 6), 1 s apart, doubling.
constexpr int kMaxRetries = 6;

Millis retry_delay(int failed_attempts) {
  return std::min(Millis(1000) * (1 << std::min(failed_attempts - 1, 6)), Millis(60'000));
}

bool succeeded(const std::optional<int>& status) { return status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0; }

// A line in the run's own log, between two attempts' output: `prisn logs` shows why the
// output starts again. Once: a prisnd restarted between the attempts may come here again for
// the same attempt, and nothing else writes to the log until the next attempt starts.
void mark_log_once(const fs::path& file, const std::string& line) {
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return;
  std::string tail(line.size(), '\0');
  const off_t size = ::lseek(fd, 0, SEEK_END);
  const bool there = size >= static_cast<off_t>(line.size()) &&
                     ::pread(fd, tail.data(), tail.size(), size - static_cast<off_t>(line.size())) ==
                         static_cast<ssize_t>(line.size()) &&
                     tail == line;
  if (!there) (void)!::write(fd, line.data(), line.size());
  ::close(fd);
}

// A deployment's runs share a group, which a network policy's filter names (SPEC §7.6); a
// run of no deployment has none.
std::string run_group_of(const Execution& e) {
  return e.deployment.empty() ? std::string() : process::Cgroups::run_group(e.ns, e.deployment);
}

}  // namespace

std::string new_execution_id() { return "ex-" + random_hex(6); }

ExecutionRunner::ExecutionRunner(Context& ctx, Listener on_change)
    : ctx_(ctx), on_change_(std::move(on_change)) {}

ExecutionRunner::~ExecutionRunner() = default;

Result<Execution> ExecutionRunner::start(Execution e, const model::DeploymentSpec* spec) {
  const auto now = WallClock::now();
  if (e.created_at == WallTime{}) {
    e.created_at = now;
  }
  auto fail = [&](std::string error) -> Result<Execution> {
    e.status = ExecStatus::kFailed;
    e.error = std::move(error);
    e.completed_at = WallClock::now();
    if (auto stored = ctx_.store.put_execution(e); !stored) {
      return stored.error();
    }
    log()->warn("execution {} ({}) failed to start: {}", e.id,
                e.deployment.empty() ? "from source" : e.deployment, e.error);
    on_change_(e);
    return e;
  };
  const fs::path dir = ctx_.paths.execution_dir(e.id);
  const fs::path script = dir / e.filename;
  const fs::path log_file = ctx_.paths.execution_log(e.id);
  for (const fs::path& d : {dir, log_file.parent_path(), ctx_.paths.exit_file(e.id).parent_path()}) {
    if (auto made = make_dirs(d); !made) return fail(made.error().message);
  }
  if (auto written = write_file_atomic(script, e.source, 0755); !written) {
    return fail(written.error().message);
  }
  fs::path cgroup;
  auto ref = spawn_attempt(e, spec, cgroup);
  if (!ref) {
    return fail(ref.error().message);
  }
  e.status = ExecStatus::kRunning;
  e.started_at = WallClock::now();
  e.process = *ref;
  if (auto stored = ctx_.store.put_execution(e); !stored) {
    log()->error("execution {}: cannot record its start: {}", e.id, stored.error().message);
  }
  auto run = std::make_unique<Running>(ctx_.executor, e);
  run->cgroup = cgroup;
  Running& r = *run;
  running_[e.id] = std::move(run);
  ctx_.logs.add(log_file, ctx_.options.log_policy());
  watch(r, /*adopted=*/false);
  if (e.timeout) {
    r.timeout_timer.expires_after(*e.timeout);
    r.timeout_timer.async_wait([this, id = e.id](const boost::system::error_code& ec) {
      auto it = running_.find(id);
      if (ec || it == running_.end()) return;
      it->second->e.timed_out = true;
      log()->info("execution {}: timeout after {}; stopping it", id,
                  format_duration(*it->second->e.timeout));
      terminate(*it->second);
    });
  }
  on_change_(e);
  return e;
}

Result<model::ProcessRef> ExecutionRunner::spawn_attempt(const Execution& e, const model::DeploymentSpec* spec,
                                                          fs::path& cgroup) {
  const fs::path dir = ctx_.paths.execution_dir(e.id);
  std::map<std::string, std::string> secrets;
  if (spec != nullptr) {
    auto resolved = resolve_secrets(ctx_.store, e.ns, spec->secrets);
    if (!resolved) return resolved.error();
    secrets = std::move(*resolved);
  }
  // SPEC 6.2: every process gets PRISN_DEPLOYMENT; a run of a script without a deployment
  // (`prisn run`) gets it empty, so os.environ["PRISN_DEPLOYMENT"] works there too.
  std::map<std::string, std::string> prisn_vars = {{"PRISN_EXECUTION_ID", e.id},
                                                   {"PRISN_NAMESPACE", e.ns},
                                                   {"PRISN_API", ctx_.options.api_url},
                                                   {"PRISN_DEPLOYMENT", e.deployment},
                                                   {"PWD", dir.string()}};  // not prisnd's
  process::SpawnSpec sp;
  auto interpreter = process::find_interpreter(e.runtime, ctx_.options.path_env, e.source);
  if (!interpreter) {
    return Error::unavailable(fmt::format("runtime {}: interpreter '{}' not found on PATH", e.runtime,
                                          model::interpreter_names(e.runtime).front()));
  }
  sp.program = *interpreter;
  sp.argv = {*interpreter};
  const auto options = model::shebang_options(e.source, e.runtime);  // "#!/bin/bash -e": as run directly
  sp.argv.insert(sp.argv.end(), options.begin(), options.end());
  sp.argv.push_back((dir / e.filename).string());
  sp.argv.insert(sp.argv.end(), e.args.begin(), e.args.end());
  sp.env = build_environment(ctx_.options.base_env, e.runtime, prisn_vars,
                             spec ? spec->env : std::map<std::string, std::string>{}, e.env, secrets);
  sp.cwd = dir;
  if (ctx_.options.resolv_conf) sp.resolv_conf = ctx_.options.resolv_conf(e.ns);
  sp.log_file = ctx_.paths.execution_log(e.id);
  sp.exit_file = ctx_.paths.exit_file(e.id);
  sp.cgroup = cgroup;  // a retry runs in its first attempt's cgroup
  if (sp.cgroup.empty() && ctx_.cgroups.available()) {
    std::vector<std::string> unenforced;
    process::Limits limits;
    if (spec != nullptr) {
      limits = {spec->resources.memory_bytes, spec->resources.cpu_millis, spec->resources.pids};
    }
    if (auto cg = ctx_.cgroups.create(e.id, limits, unenforced, run_group_of(e)); cg) {
      sp.cgroup = *cg;
    }
  }
  auto ref = process::spawn(sp);
  if (ref) {
    cgroup = sp.cgroup;
  } else if (cgroup.empty() && !sp.cgroup.empty()) {
    ctx_.cgroups.remove(sp.cgroup);  // made for this attempt, and nothing runs in it
  }
  return ref;
}

void ExecutionRunner::watch(Running& run, bool adopted) {
  const std::string id = run.e.id;
  auto on_exit = [this, id](std::optional<int> status) { finish(id, status); };
  if (!adopted) {
    ctx_.watcher.watch_child(run.e.process.shim_pid, on_exit);
    return;
  }
  const auto& p = run.e.process;
  if (ctx_.watcher.watch_adopted(p.shim_pid, p.shim_start_ticks, on_exit)) {
    return;
  }
  // The shim is gone. If the workload still runs, follow it; its status will be unknown.
  if (ctx_.watcher.watch_adopted(p.pid, p.start_ticks, on_exit)) {
    return;
  }
  asio::post(ctx_.executor, [this, id]() { finish(id, std::nullopt); });
}

void ExecutionRunner::finish(const std::string& id, std::optional<int> /*reaped*/) {
  auto it = running_.find(id);
  if (it == running_.end()) {
    return;
  }
  Running& run = *it->second;
  std::optional<int> status = process::read_exit_status(ctx_.paths.exit_file(id));
  if (!status && run.kill_sent) {
    status = SIGKILL;  // we killed the whole group, shim included: a wait status of "killed by 9"
  }
  // The shim's record says when the process ended, which for one that ended while prisnd
  // was down is earlier than now.
  const auto ended = status ? process::exit_status_time(ctx_.paths.exit_file(id)) : std::nullopt;
  if (retries_after(run, status)) {
    wait_to_retry(run, *status, ended);
    return;
  }
  complete(id, status, ended);
}

bool ExecutionRunner::retries_after(const Running& run, const std::optional<int>& status) const {
  if (!status || succeeded(status) || !run.stop_reason.empty() || run.e.timed_out || run.e.deployment.empty()) {
    return false;  // cancelled, timed out or lost runs are over whatever the policy says
  }
  const auto* rec = ctx_.store.find_deployment(run.e.ns, run.e.deployment);
  return rec != nullptr && rec->spec.restart_policy == model::RestartPolicy::kOnFailure &&
         run.e.attempts <= kMaxRetries;
}

void ExecutionRunner::wait_to_retry(Running& run, int status, std::optional<WallTime> ended) {
  const Millis full = retry_delay(run.e.attempts);
  const auto waited = ended ? std::chrono::duration_cast<Millis>(WallClock::now() - *ended) : Millis(0);
  const Millis delay = std::clamp(full - waited, Millis(0), full);  // a prisnd restarted meanwhile waits the rest
  run.waiting = true;
  run.last_status = status;
  if (!run.cgroup.empty()) ctx_.cgroups.kill_all(run.cgroup);  // the attempt leaves nothing behind
  // No pid to show meanwhile. The shim's stays recorded: a prisnd restarted before the next
  // attempt finds it gone and reads the attempt's exit record, then retries as this one would.
  run.e.process.pid = 0;
  run.e.process.start_ticks = 0;
  if (auto stored = ctx_.store.put_execution(run.e); !stored) {
    log()->error("execution {}: cannot record the end of attempt {}: {}", run.e.id, run.e.attempts,
                 stored.error().message);
  }
  const auto line = fmt::format("attempt {} ended ({}); attempt {} of {} in {} (restartPolicy on-failure)",
                                run.e.attempts, process::describe_wait_status(status), run.e.attempts + 1,
                                kMaxRetries + 1, format_duration(full));
  log()->info("execution {} ({}): {}", run.e.id, run.e.deployment, line);
  mark_log_once(ctx_.paths.execution_log(run.e.id), "prisn: " + line + "\n");
  run.retry_timer.expires_after(delay);
  run.retry_timer.async_wait([this, id = run.e.id](const boost::system::error_code& ec) {
    if (!ec) retry(id);
  });
}

void ExecutionRunner::retry(const std::string& id) {
  auto it = running_.find(id);
  if (it == running_.end() || !it->second->waiting || it->second->terminating) return;  // ending: terminate() completes it
  Running& run = *it->second;
  run.waiting = false;
  const auto* rec = ctx_.store.find_deployment(run.e.ns, run.e.deployment);
  std::error_code ignored;
  fs::remove(ctx_.paths.exit_file(id), ignored);  // kept until now: a prisnd restarted meanwhile reads it
  auto ref = rec != nullptr ? spawn_attempt(run.e, &rec->spec, run.cgroup)
                            : Result<model::ProcessRef>(Error::not_found("its deployment was deleted"));
  if (!ref) {
    run.stop_reason = fmt::format("attempt {} could not start: {}", run.e.attempts + 1, ref.error().message);
    complete(id, run.last_status, std::nullopt);
    return;
  }
  ++run.e.attempts;
  run.e.process = *ref;
  run.kill_sent = false;
  run.terminating = false;
  if (auto stored = ctx_.store.put_execution(run.e); !stored) {
    log()->error("execution {}: cannot record attempt {}: {}", id, run.e.attempts, stored.error().message);
  }
  watch(run, /*adopted=*/false);
  on_change_(run.e);
}

void ExecutionRunner::complete(const std::string& id, std::optional<int> status, std::optional<WallTime> ended) {
  auto it = running_.find(id);
  if (it == running_.end()) {
    return;
  }
  std::unique_ptr<Running> run = std::move(it->second);
  running_.erase(it);
  Execution& e = run->e;
  const auto now = WallClock::now();
  e.completed_at = ended && *ended <= now ? std::max(*ended, e.started_at.value_or(*ended)) : now;
  if (status && WIFEXITED(*status)) {
    e.exit_code = WEXITSTATUS(*status);
  } else if (status && WIFSIGNALED(*status)) {
    e.signal = WTERMSIG(*status);
  }
  if (!run->stop_reason.empty()) {
    e.status = ExecStatus::kFailed;
    e.error = run->stop_reason;
  } else if (e.timed_out) {
    e.status = ExecStatus::kFailed;
    e.error = "timeout: killed after " + format_duration(e.timeout.value_or(Millis(0)));
  } else if (!status) {
    e.status = ExecStatus::kFailed;
    e.error = "exit status lost: the process ended while prisnd was not running";
  } else if (e.exit_code == 0) {
    e.status = ExecStatus::kCompleted;
  } else {
    e.status = ExecStatus::kFailed;
    e.error = process::describe_wait_status(*status);
  }
  if (auto stored = ctx_.store.put_execution(e); !stored) {
    log()->error("execution {}: cannot record its end: {}", id, stored.error().message);
  }
  log()->info("execution {} ({}) {}{}", id, e.deployment.empty() ? "from source" : e.deployment,
              model::to_string(e.status), e.error.empty() ? "" : ": " + e.error);
  if (!run->cgroup.empty()) {
    ctx_.cgroups.kill_all(run->cgroup);  // a finished run leaves nothing behind
    if (!ctx_.cgroups.remove(run->cgroup)) {
      asio::post(ctx_.executor, [this, cg = run->cgroup]() { ctx_.cgroups.remove(cg); });
    }
  }
  ctx_.logs.remove(ctx_.paths.execution_log(id));
  std::error_code ec;
  fs::remove(ctx_.paths.exit_file(id), ec);
  for (auto& waiter : run->waiters) {
    waiter();
  }
  on_change_(e);
  auto pruned = ctx_.store.prune_executions(e.ns, e.deployment, ctx_.options.execution_history);
  if (pruned) {
    for (const auto& old : *pruned) {
      logs::LogFile(ctx_.paths.execution_log(old)).remove();
      fs::remove_all(ctx_.paths.execution_dir(old), ec);
    }
  }
}

void ExecutionRunner::terminate(Running& run) {
  if (run.terminating) {
    return;
  }
  run.terminating = true;
  if (run.waiting) {
    // No process between two attempts: it ends now, as the failed attempt left it. Posted,
    // since callers may be walking running_.
    run.retry_timer.cancel();
    asio::post(ctx_.executor, [this, id = run.e.id]() {
      auto it = running_.find(id);
      if (it != running_.end() && it->second->waiting) complete(id, it->second->last_status, std::nullopt);
    });
    return;
  }
  ctx_.cgroups.signal_workload(run.cgroup, run.e.process.shim_pid, SIGTERM);
  run.kill_timer.expires_after(ctx_.options.stop_grace);
  run.kill_timer.async_wait([this, id = run.e.id](const boost::system::error_code& ec) {
    auto it = running_.find(id);
    if (ec || it == running_.end()) return;
    Running& r = *it->second;
    r.kill_sent = true;
    if (!r.cgroup.empty()) {
      ctx_.cgroups.kill_all(r.cgroup);
      ::kill(r.e.process.pid, SIGKILL);
    } else {
      ::killpg(r.e.process.shim_pid, SIGKILL);
    }
  });
}

Result<Execution> ExecutionRunner::cancel(const std::string& id) {
  auto it = running_.find(id);
  if (it == running_.end()) {
    return Error::conflict(fmt::format("execution '{}' is not running", id));
  }
  it->second->stop_reason = "cancelled";
  terminate(*it->second);
  return it->second->e;
}

void ExecutionRunner::stop_for(const std::string& ns, const std::string& deployment, const std::string& reason) {
  for (auto& [id, run] : running_) {
    if (run->e.ns == ns && run->e.deployment == deployment && run->stop_reason.empty()) {
      run->stop_reason = reason;
      terminate(*run);
    }
  }
}

void ExecutionRunner::adopt() {
  auto unfinished = ctx_.store.unfinished_executions();
  if (!unfinished) {
    log()->error("cannot read unfinished executions: {}", unfinished.error().message);
    return;
  }
  for (auto& e : *unfinished) {
    if (e.process.shim_pid == 0) {
      e.status = ExecStatus::kFailed;
      e.error = "prisnd stopped before the execution started";
      e.completed_at = WallClock::now();
      (void)ctx_.store.put_execution(e);
      continue;
    }
    auto run = std::make_unique<Running>(ctx_.executor, e);
    if (ctx_.cgroups.available()) {
      // In its group; a run started by a prisnd from before groups is in the subtree itself.
      for (const fs::path& cg : {ctx_.cgroups.base() / run_group_of(e) / e.id, ctx_.cgroups.base() / e.id}) {
        if (fs::exists(cg)) {
          run->cgroup = cg;
          break;
        }
      }
    }
    Running& r = *run;
    running_[e.id] = std::move(run);
    ctx_.logs.add(ctx_.paths.execution_log(e.id), ctx_.options.log_policy());
    if (e.timeout && e.started_at) {
      const auto elapsed = std::chrono::duration_cast<Millis>(WallClock::now() - *e.started_at);
      r.timeout_timer.expires_after(std::max(Millis(0), *e.timeout - elapsed));
      r.timeout_timer.async_wait([this, id = e.id](const boost::system::error_code& ec) {
        auto it = running_.find(id);
        if (ec || it == running_.end()) return;
        it->second->e.timed_out = true;
        terminate(*it->second);
      });
    }
    log()->info("execution {} re-adopted (pid {})", e.id, e.process.pid);
    watch(r, /*adopted=*/true);
  }
}

bool ExecutionRunner::running_for(const std::string& ns, const std::string& deployment) const {
  for (const auto& [id, run] : running_) {
    if (run->e.ns == ns && run->e.deployment == deployment) {
      return true;
    }
  }
  return false;
}

const Execution* ExecutionRunner::active(const std::string& id) const {
  auto it = running_.find(id);
  return it == running_.end() ? nullptr : &it->second->e;
}

std::size_t ExecutionRunner::active_count() const { return running_.size(); }

std::vector<std::string> ExecutionRunner::active_ids() const {
  std::vector<std::string> ids;
  for (const auto& [id, run] : running_) ids.push_back(id);
  return ids;
}

void ExecutionRunner::when_done(const std::string& id, std::function<void()> cb) {
  auto it = running_.find(id);
  if (it == running_.end()) {
    cb();
    return;
  }
  it->second->waiters.push_back(std::move(cb));
}

void ExecutionRunner::terminate_all() {
  for (auto& [id, run] : running_) {
    run->stop_reason = "stopped: prisnd shut down";
    terminate(*run);
  }
}

}  // namespace prisn::supervisor
