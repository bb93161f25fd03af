// SPDX-License-Identifier: MIT
#include "prisn/health/checker.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

#include "health/probes.hpp"
#include "prisn/core/log.hpp"

namespace prisn::health {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct Checker::State {
  State(asio::any_io_executor ex, Target t) : target(std::move(t)), timer(ex), added(Clock::now()) {}
  Target target;
  asio::steady_timer timer;
  Clock::time_point added;
  bool stopped = false;
  std::shared_ptr<int> probe = std::make_shared<int>(0);  ///< an exec probe's pid while it runs
  bool healthy = false;
  bool ever_healthy = false;
  int passes = 0;
  int failures = 0;
  std::string last_failure;  ///< why the last failed check failed
};

namespace {

constexpr std::chrono::milliseconds kStartupProbeInterval{250};
constexpr std::chrono::seconds kStartupWindow{30};

asio::awaitable<ProbeResult> probe(const Target& t, process::ProcessWatcher& watcher, std::shared_ptr<int> probe_pid) {
  const auto timeout = t.check.timeout;
  switch (t.check.kind) {
    case model::HealthCheck::Kind::kTcp:
      co_return co_await tcp_probe(t.host, t.port, timeout);
    case model::HealthCheck::Kind::kHttp:
      co_return co_await http_probe(t.host, t.port, t.check.path, t.check.expected_status, timeout);
    case model::HealthCheck::Kind::kExec:
      co_return co_await exec_probe(t.check.command, t.env, t.cwd, t.namespaces, timeout, watcher, probe_pid);
  }
  co_return ProbeResult::fail("unknown check kind");
}

}  // namespace

// Runs one target's checks until it is removed. Parameters are values: the coroutine
// outlives the call that started it.
static asio::awaitable<void> check_loop(std::shared_ptr<Checker::State> s, process::ProcessWatcher* watcher,
                                        Checker::OnChange* on_change, Checker::Stats* stats) {
  while (!s->stopped) {
    const ProbeResult result = co_await probe(s->target, *watcher, s->probe);
    const bool ok = result.passed;
    if (s->stopped) {
      break;
    }
    if (result.not_run) {
      // prisnd's own shortage: the instance keeps its state, and the next check tries again.
      logger("health")->warn("check of {} not run: {}", s->target.id, result.failure);
    } else if (ok) {
      stats->passed.fetch_add(1, std::memory_order_relaxed);
      ++s->passes;
      s->failures = 0;
      const int needed = s->ever_healthy ? s->target.check.success_threshold : 1;
      if (!s->healthy && s->passes >= needed) {
        s->healthy = true;
        s->ever_healthy = true;
        (*on_change)(s->target.id, true);
      }
    } else {
      stats->failed.fetch_add(1, std::memory_order_relaxed);
      logger("health")->debug("check of {} failed: {}", s->target.id, result.failure);
      s->last_failure = result.failure;
      ++s->failures;
      s->passes = 0;
      if (s->healthy && s->failures >= s->target.check.failure_threshold) {
        s->healthy = false;
        (*on_change)(s->target.id, false);
      }
    }
    if (s->stopped) {
      break;
    }
    auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(s->target.check.interval);
    if (!s->ever_healthy && Clock::now() - s->added < kStartupWindow) {
      delay = std::min(delay, std::chrono::duration_cast<std::chrono::milliseconds>(kStartupProbeInterval));
    }
    s->timer.expires_after(delay);
    co_await s->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

Checker::Checker(asio::any_io_executor executor, process::ProcessWatcher& watcher, OnChange on_change)
    : executor_(executor), watcher_(watcher), on_change_(std::move(on_change)) {}

// Stops a target's checks, and ends an exec check under way with its whole process group: it
// must not outlive its instance, or prisnd.
static void stop_target(Checker::State& s) {
  s.stopped = true;
  s.timer.cancel();
  if (*s.probe > 0) ::killpg(*s.probe, SIGKILL);  // the process watcher reaps it
}

Checker::~Checker() {
  for (auto& [id, s] : targets_) stop_target(*s);
}

void Checker::add(Target target) {
  remove(target.id);
  auto state = std::make_shared<State>(executor_, std::move(target));
  state->healthy = state->target.initially_healthy;
  state->ever_healthy = state->target.initially_healthy;
  targets_[state->target.id] = state;
  asio::co_spawn(executor_, check_loop(state, &watcher_, &on_change_, &stats_),
                 [](std::exception_ptr e) {
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       logger("health")->error("health check loop failed: {}", ex.what());
                     }
                   }
                 });
}

void Checker::remove(const std::string& id) {
  auto it = targets_.find(id);
  if (it == targets_.end()) {
    return;
  }
  stop_target(*it->second);
  targets_.erase(it);
}

std::string Checker::last_failure(const std::string& id) const {
  auto it = targets_.find(id);
  return it != targets_.end() && it->second->failures > 0 ? it->second->last_failure : std::string();
}

bool Checker::healthy(const std::string& id) const {
  auto it = targets_.find(id);
  return it != targets_.end() && it->second->healthy;
}

}  // namespace prisn::health
