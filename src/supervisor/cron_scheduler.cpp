// SPDX-License-Identifier: MIT
#include "prisn/supervisor/cron_scheduler.hpp"

#include <boost/asio/steady_timer.hpp>

#include <algorithm>

#include "prisn/core/log.hpp"
#include "prisn/cron/cron_expr.hpp"

namespace prisn::supervisor {

struct CronScheduler::Entry {
  Entry(boost::asio::any_io_executor ex, cron::CronExpr e) : expr(std::move(e)), timer(ex) {}
  std::string ns;
  std::string name;
  cron::CronExpr expr;
  std::optional<WallTime> next;
  boost::asio::steady_timer timer;
};

namespace {

auto& log() {
  static auto l = logger("cron");
  return l;
}

}  // namespace

CronScheduler::CronScheduler(Context& ctx, ExecutionRunner& runner, Trigger trigger, Skipped skipped)
    : ctx_(ctx), runner_(runner), trigger_(std::move(trigger)), skipped_(std::move(skipped)) {}

CronScheduler::~CronScheduler() = default;

void CronScheduler::start() {
  const auto now = WallClock::now();
  for (const auto* rec : ctx_.store.list_deployments("")) {
    if (rec->spec.type != model::DeploymentType::kCron) continue;
    if (ctx_.options.cron_catch_up) {
      // Since its last run; one that never ran, since it was last deployed.
      const WallTime since = rec->last_run ? *rec->last_run : rec->updated_at;
      auto expr = cron::CronExpr::parse(rec->spec.schedule);
      auto missed = expr ? expr->next_after(since) : std::nullopt;
      if (missed && *missed < now) {
        log()->info("cron {}/{}: a tick was missed while prisnd was down; one catch-up run",
                    rec->spec.ns, rec->spec.name);
        tick(rec->spec.ns, rec->spec.name);
      }
    }
    sync(rec->spec.ns, rec->spec.name);
  }
}

void CronScheduler::sync(const std::string& ns, const std::string& name) {
  const auto* rec = ctx_.store.find_deployment(ns, name);
  if (rec == nullptr || rec->spec.type != model::DeploymentType::kCron) {
    entries_.erase({ns, name});
    return;
  }
  auto expr = cron::CronExpr::parse(rec->spec.schedule);
  if (!expr) {
    log()->error("cron {}/{}: {}", ns, name, expr.error().message);
    entries_.erase({ns, name});
    return;
  }
  auto& slot = entries_[{ns, name}];
  if (slot && slot->expr.text() == expr->text()) {
    return;  // same schedule: keep the armed timer
  }
  slot = std::make_unique<Entry>(ctx_.executor, std::move(*expr));
  slot->ns = ns;
  slot->name = name;
  arm(*slot, WallClock::now());
}

void CronScheduler::arm(Entry& entry, WallTime after) {
  entry.next = entry.expr.next_after(after);
  if (!entry.next) {
    log()->warn("cron {}/{}: '{}' never fires", entry.ns, entry.name, entry.expr.text());
    return;
  }
  // A steady timer for the wall-clock distance; tick() re-checks the wall clock, so a clock
  // change only delays a tick, never fires one early.
  entry.timer.expires_after(*entry.next - WallClock::now());
  entry.timer.async_wait([this, ns = entry.ns, name = entry.name](const boost::system::error_code& ec) {
    if (ec) return;
    auto it = entries_.find({ns, name});
    if (it == entries_.end()) return;
    Entry& e = *it->second;
    if (e.next && WallClock::now() + std::chrono::milliseconds(5) < *e.next) {
      arm(e, WallClock::now());  // woke early: wait the rest
      return;
    }
    // The next run is known before this one starts, so the run's events show it; and it is the
    // one after this tick even when the timer fired a few milliseconds early.
    const WallTime due = e.next.value_or(WallClock::now());
    arm(e, std::max(WallClock::now(), due));
    tick(ns, name);
  });
}

void CronScheduler::tick(const std::string& ns, const std::string& name) {
  const auto* rec = ctx_.store.find_deployment(ns, name);
  if (rec == nullptr) {
    return;
  }
  store::DeploymentRecord updated = *rec;
  if (runner_.running_for(ns, name)) {
    ++updated.skipped_ticks;
    ++skipped_total_;
    log()->warn("cron {}/{}: tick skipped, the previous run is still going ({} skipped so far)", ns,
                name, updated.skipped_ticks);
    (void)ctx_.store.put_deployment(updated);
    if (skipped_) skipped_(ns, name);
    return;
  }
  updated.last_run = WallClock::now();
  (void)ctx_.store.put_deployment(updated);
  trigger_(updated);
}

std::optional<WallTime> CronScheduler::next_run(const std::string& ns, const std::string& name) const {
  auto it = entries_.find({ns, name});
  return it == entries_.end() ? std::nullopt : it->second->next;
}

void CronScheduler::stop() { entries_.clear(); }

}  // namespace prisn::supervisor
