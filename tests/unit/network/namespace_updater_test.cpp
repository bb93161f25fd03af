// SPDX-License-Identifier: MIT
#include "prisn/network/namespace_updater.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <vector>

namespace prisn::network {
namespace {

using namespace std::chrono_literals;

// Records what is applied; the first apply waits until `release` is set, so that batches can
// be handed over while one is in progress.
struct Recorder {
  std::mutex mutex;
  std::vector<std::string> applied;
  std::promise<void> started;
  std::shared_future<void> release;
  bool first = true;

  Result<void> apply(const NamespaceRuleset& update) {
    bool wait = false;
    {
      std::lock_guard lock(mutex);
      applied.push_back(update.netns.string() + " " + update.ruleset);
      wait = std::exchange(first, false);
    }
    if (wait) {
      started.set_value();
      release.wait();
    }
    return {};
  }
  std::vector<std::string> snapshot() {
    std::lock_guard lock(mutex);
    return applied;
  }
};

std::vector<NamespaceRuleset> batch(const std::string& version, int count) {
  std::vector<NamespaceRuleset> out;
  for (int i = 0; i < count; ++i) out.push_back({"/run/netns/ns" + std::to_string(i), version});
  return out;
}

bool eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 400; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

TEST(NamespaceUpdater, AppliesEveryNamespaceOfABatch) {
  Recorder r;
  std::promise<void> release;
  r.release = release.get_future().share();
  release.set_value();
  NamespaceUpdater updater([&](const NamespaceRuleset& u) { return r.apply(u); });
  updater.submit(batch("v1", 3));
  ASSERT_TRUE(eventually([&] { return r.snapshot().size() == 3; }));
  EXPECT_EQ(r.snapshot(), (std::vector<std::string>{"/run/netns/ns0 v1", "/run/netns/ns1 v1", "/run/netns/ns2 v1"}));
}

TEST(NamespaceUpdater, ANewerBatchReplacesWhatIsLeftOfTheOneInProgress) {
  Recorder r;
  std::promise<void> release;
  r.release = release.get_future().share();
  NamespaceUpdater updater([&](const NamespaceRuleset& u) { return r.apply(u); });
  updater.submit(batch("v1", 3));
  r.started.get_future().wait();  // ns0 v1 is being applied
  updater.submit(batch("v2", 3));
  updater.submit(batch("v3", 3));  // v2 is never applied: v3 names every namespace again
  release.set_value();
  ASSERT_TRUE(eventually([&] { return r.snapshot().size() == 4; }));
  std::this_thread::sleep_for(20ms);  // nothing more comes
  EXPECT_EQ(r.snapshot(), (std::vector<std::string>{"/run/netns/ns0 v1", "/run/netns/ns0 v3", "/run/netns/ns1 v3",
                                                    "/run/netns/ns2 v3"}));
}

TEST(NamespaceUpdater, StopsWithoutWaitingForAnIdleBatch) {
  Recorder r;
  std::promise<void> release;
  r.release = release.get_future().share();
  release.set_value();
  const auto start = std::chrono::steady_clock::now();
  { NamespaceUpdater updater([&](const NamespaceRuleset& u) { return r.apply(u); }); }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_TRUE(r.snapshot().empty());
}

}  // namespace
}  // namespace prisn::network
