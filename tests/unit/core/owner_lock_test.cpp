// SPDX-License-Identifier: MIT
#include "prisn/core/owner_lock.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace prisn {
namespace {

namespace fs = std::filesystem;

class OwnerLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("prisn-owner-lock-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(OwnerLockTest, ASecondHolderIsRefusedWithTheFirstOnesPid) {
  auto first = OwnerLock::acquire(dir_ / "x.lock", "data directory /d");
  ASSERT_TRUE(first) << first.error().message;
  std::ifstream file(dir_ / "x.lock");
  std::string pid;
  file >> pid;
  EXPECT_EQ(pid, std::to_string(::getpid()));
  auto second = OwnerLock::acquire(dir_ / "x.lock", "data directory /d");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().kind, Error::Kind::kConflict);
  EXPECT_EQ(second.error().message, "data directory /d is in use by another prisnd (pid " + pid + ")");
}

TEST_F(OwnerLockTest, ReleasedWhenTheHolderGoesAndPassesWithAMove) {
  {
    auto first = OwnerLock::acquire(dir_ / "x.lock", "it");
    ASSERT_TRUE(first);
    OwnerLock moved = std::move(*first);
    EXPECT_FALSE(OwnerLock::acquire(dir_ / "x.lock", "it"));  // still held, by `moved`
  }
  EXPECT_TRUE(OwnerLock::acquire(dir_ / "x.lock", "it"));
}

TEST_F(OwnerLockTest, AnUnwritablePlaceIsAnError) {
  auto lock = OwnerLock::acquire(dir_ / "missing" / "x.lock", "it");
  ASSERT_FALSE(lock);
  EXPECT_NE(lock.error().message.find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace prisn
