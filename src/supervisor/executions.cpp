// SPDX-License-Identifier: MIT
#include "prisn/supervisor/executions.hpp"

#include <signal.h>
#include <sys/wait.h>

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
      : e(std::move(exec)), timeout_timer(ex), kill_timer(ex) {}
  Execution e;
  asio::steady_timer timeout_timer;
  asio::steady_timer kill_timer;
  std::string stop_reason;  // why prisn stopped it: "cancelled", a shutdown
  bool terminating = false;
  bool kill_sent = false;
  fs::path cgroup;
  std::vector<std::function<void()>> waiters;
};

namespace {

auto& log() {
  static auto l = logger("executions");
  return l;
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
  auto interpreter = process::find_interpreter(e.runtime, ctx_.options.path_env);
  if (!interpreter) {
    return fail(fmt::format("runtime {}: interpreter '{}' not found on PATH", e.runtime,
                            model::interpreter_names(e.runtime).front()));
  }
  const fs::path dir = ctx_.paths.execution_dir(e.id);
  const fs::path script = dir / e.filename;
  const fs::path log_file = ctx_.paths.execution_log(e.id);
  for (const fs::path& d : {dir, log_file.parent_path(), ctx_.paths.exit_file(e.id).parent_path()}) {
    if (auto made = make_dirs(d); !made) return fail(made.error().message);
  }
  if (auto written = write_file_atomic(script, e.source, 0755); !written) {
    return fail(written.error().message);
  }
  std::map<std::string, std::string> secrets;
  if (spec != nullptr) {
    auto resolved = resolve_secrets(ctx_.store, e.ns, spec->secrets);
    if (!resolved) return fail(resolved.error().message);
    secrets = std::move(*resolved);
  }
  // SPEC 6.2: every process gets PRISN_DEPLOYMENT; a run of a script without a deployment
  // (`prisn run`) gets it empty, so os.environ["PRISN_DEPLOYMENT"] works there too.
  std::map<std::string, std::string> prisn_vars = {{"PRISN_EXECUTION_ID", e.id},
                                                   {"PRISN_NAMESPACE", e.ns},
                                                   {"PRISN_API", ctx_.options.api_url},
                                                   {"PRISN_DEPLOYMENT", e.deployment}};
  process::SpawnSpec sp;
  sp.program = *interpreter;
  sp.argv = {*interpreter, script.string()};
  sp.argv.insert(sp.argv.end(), e.args.begin(), e.args.end());
  sp.env = build_environment(ctx_.options.base_env, e.runtime, prisn_vars,
                             spec ? spec->env : std::map<std::string, std::string>{}, e.env, secrets);
  sp.cwd = dir;
  sp.resolv_conf = ctx_.options.resolv_conf;
  sp.log_file = log_file;
  sp.exit_file = ctx_.paths.exit_file(e.id);
  if (ctx_.cgroups.available()) {
    std::vector<std::string> unenforced;
    process::Limits limits;
    if (spec != nullptr) {
      limits = {spec->resources.memory_bytes, spec->resources.cpu_millis, spec->resources.pids};
    }
    if (auto cg = ctx_.cgroups.create(e.id, limits, unenforced); cg) {
      sp.cgroup = *cg;
    }
  }
  auto ref = process::spawn(sp);
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
  run->cgroup = sp.cgroup;
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
  std::unique_ptr<Running> run = std::move(it->second);
  running_.erase(it);
  Execution& e = run->e;
  std::optional<int> status = process::read_exit_status(ctx_.paths.exit_file(id));
  if (!status && run->kill_sent) {
    status = SIGKILL;  // we killed the whole group, shim included: a wait status of "killed by 9"
  }
  // The shim's record says when the process ended, which for one that ended while prisnd
  // was down is earlier than now.
  const auto now = WallClock::now();
  const auto ended = status ? process::exit_status_time(ctx_.paths.exit_file(id)) : std::nullopt;
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
  if (!run.cgroup.empty()) {
    ctx_.cgroups.signal_all(run.cgroup, SIGTERM);
  }
  ::killpg(run.e.process.shim_pid, SIGTERM);  // the workload's group; the shim ignores it
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
    const fs::path cg = ctx_.cgroups.base() / e.id;
    if (ctx_.cgroups.available() && fs::exists(cg)) {
      run->cgroup = cg;
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
