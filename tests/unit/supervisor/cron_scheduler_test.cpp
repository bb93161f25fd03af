// SPDX-License-Identifier: MIT
#include "prisn/supervisor/cron_scheduler.hpp"

#include <gtest/gtest.h>

#include <ctime>
#include <string>

#include "prisn/model/deployment_json.hpp"
#include "support/supervisor_fixture.hpp"

namespace prisn::supervisor {
namespace {

struct CronFixture : test::SupervisorFixture {
  CronFixture()
      : runner(*ctx, [](const model::Execution&) {}),
        cron(*ctx, runner, [this](const store::DeploymentRecord& rec) {
          model::Execution e;
          e.id = new_execution_id();
          e.deployment = rec.spec.name;
          e.trigger = "cron";
          e.runtime = rec.spec.runtime;
          e.filename = rec.spec.filename;
          e.source = rec.spec.source;
          ASSERT_TRUE(runner.start(e, &rec.spec));
        },
        [this](const std::string&, const std::string&) { ++skips_heard; }) {}

  void deploy(const std::string& schedule, const std::string& source) {
    auto spec = model::decode_deployment(
        model::Json{{"name", "tick"}, {"source", source}, {"filename", "tick.sh"}, {"schedule", schedule}}, {});
    ASSERT_TRUE(spec) << spec.error().message;
    store::DeploymentRecord rec;
    rec.spec = *spec;
    rec.created_at = rec.updated_at = WallClock::now();
    ASSERT_TRUE(store->put_deployment(rec));
  }

  ExecutionRunner runner;
  CronScheduler cron;
  int skips_heard = 0;
};

TEST(CronScheduler, ArmsWithTheNextRun) {
  CronFixture f;
  f.deploy("* * * * *", "true\n");
  f.cron.start();
  const auto next = f.cron.next_run("default", "tick");
  ASSERT_TRUE(next);
  EXPECT_GT(*next, WallClock::now());
  EXPECT_LE(*next, WallClock::now() + std::chrono::seconds(61));
  // Half an hour away from the next minute, whatever the time: a fixed schedule ("0 3 * * *")
  // has its next run at that minute once a day.
  const std::time_t at = WallClock::to_time_t(*next);
  std::tm local{};
  localtime_r(&at, &local);
  f.deploy(std::to_string((local.tm_min + 30) % 60) + " * * * *", "true\n");
  f.cron.sync("default", "tick");
  EXPECT_NE(f.cron.next_run("default", "tick"), next);
  ASSERT_TRUE(f.store->delete_deployment("default", "tick"));
  f.cron.sync("default", "tick");
  EXPECT_FALSE(f.cron.next_run("default", "tick"));
}

TEST(CronScheduler, ATickWhileARunIsGoingIsSkippedAndCounted) {
  CronFixture f;
  f.deploy("* * * * *", "sleep 1\n");
  f.cron.start();
  f.cron.tick("default", "tick");
  EXPECT_EQ(f.runner.active_count(), 1U);
  EXPECT_TRUE(f.store->find_deployment("default", "tick")->last_run.has_value());
  f.cron.tick("default", "tick");  // the first run is still sleeping
  EXPECT_EQ(f.runner.active_count(), 1U);
  EXPECT_EQ(f.store->find_deployment("default", "tick")->skipped_ticks, 1);
  EXPECT_EQ(f.cron.skipped_total(), 1U);
  EXPECT_EQ(f.skips_heard, 1);  // the controller announces it: the deployment changed
  ASSERT_TRUE(f.run_until([&] { return f.runner.active_count() == 0; }));
  f.cron.tick("default", "tick");  // free again: runs
  EXPECT_EQ(f.runner.active_count(), 1U);
  ASSERT_TRUE(f.run_until([&] { return f.runner.active_count() == 0; }));
  EXPECT_EQ(f.store->list_executions({"default", "tick", std::nullopt, 10}).value().size(), 2U);
}

}  // namespace
}  // namespace prisn::supervisor
