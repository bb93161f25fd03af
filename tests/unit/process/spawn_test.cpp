// SPDX-License-Identifier: MIT
#include "prisn/process/spawn.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <boost/asio/io_context.hpp>
#include <fstream>
#include <thread>

#include "prisn/process/cgroups.hpp"
#include "prisn/process/proc.hpp"
#include "prisn/process/watcher.hpp"
#include "support/temp_dir.hpp"

namespace prisn::process {
namespace {

SpawnSpec shell(const test::TempDir& dir, const std::string& script) {
  SpawnSpec s;
  s.program = "/bin/sh";
  s.argv = {"/bin/sh", "-c", script};
  s.env = {"PATH=/usr/bin:/bin", "MARK=from-env"};
  s.cwd = dir.path();
  s.log_file = dir / "out.log";
  s.exit_file = dir / "exit";
  return s;
}

// Runs the io_context until the shim of `ref` has been reaped.
std::optional<int> wait_for(ProcessWatcher& watcher, boost::asio::io_context& io, int shim_pid) {
  bool done = false;
  watcher.watch_child(shim_pid, [&](std::optional<int>) { done = true; });
  for (int i = 0; i < 1000 && !done; ++i) {
    io.run_for(std::chrono::milliseconds(10));
    io.restart();
  }
  EXPECT_TRUE(done);
  return std::nullopt;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Spawn, OutputGoesToTheLogAndTheShimRecordsTheStatus) {
  test::TempDir dir;
  boost::asio::io_context io;
  ProcessWatcher watcher(io.get_executor());
  watcher.start();
  auto ref = spawn(shell(dir, "echo out $MARK; echo err >&2; pwd; exit 7"));
  ASSERT_TRUE(ref) << ref.error().message;
  EXPECT_NE(ref->pid, ref->shim_pid);
  EXPECT_GT(ref->shim_start_ticks, 0U);
  wait_for(watcher, io, ref->shim_pid);
  const auto status = read_exit_status(dir / "exit");
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 7);
  EXPECT_EQ(slurp(dir / "out.log"), "out from-env\nerr\n" + dir.path().string() + "\n");
}

TEST(Spawn, ASignalToTheGroupEndsTheWorkloadButNotTheShim) {
  test::TempDir dir;
  boost::asio::io_context io;
  ProcessWatcher watcher(io.get_executor());
  watcher.start();
  auto ref = spawn(shell(dir, "exec sleep 30"));
  ASSERT_TRUE(ref);
  ASSERT_TRUE(is_same_process(ref->pid, ref->start_ticks) || start_ticks(ref->pid));
  ::killpg(ref->shim_pid, SIGTERM);
  wait_for(watcher, io, ref->shim_pid);
  const auto status = read_exit_status(dir / "exit");
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFSIGNALED(*status));
  EXPECT_EQ(WTERMSIG(*status), SIGTERM);
}

TEST(Spawn, TheWorkloadHasItsOwnSessionAndNoInheritedDescriptors) {
  test::TempDir dir;
  boost::asio::io_context io;
  ProcessWatcher watcher(io.get_executor());
  watcher.start();
  auto ref = spawn(shell(dir, "ls /proc/self/fd | wc -l; ps -o sid= -p $$ | tr -d ' '"));
  ASSERT_TRUE(ref);
  wait_for(watcher, io, ref->shim_pid);
  const std::string out = slurp(dir / "out.log");
  // stdin, stdout, stderr and the fd `ls` opens for /proc/self/fd.
  EXPECT_EQ(out.substr(0, out.find('\n')), "4");
  EXPECT_EQ(std::stoi(out.substr(out.find('\n') + 1)), ref->shim_pid);
}

// An exec that fails for good is the start's error, naming the program and why, not an
// "exit code 127"; one that may pass (the program gone for a moment) is still an exit 127,
// which a service's restart delay retries.
TEST(Spawn, AProgramThatCannotBeExecutedIsTheStartsErrorAndInTheLog) {
  test::TempDir dir;
  {
    std::ofstream(dir / "garbage") << "\x01\x02 not a program\n";
  }
  std::filesystem::permissions(dir / "garbage", std::filesystem::perms::owner_all);
  SpawnSpec s = shell(dir, "");
  s.program = (dir / "garbage").string();
  auto ref = spawn(s);
  ASSERT_FALSE(ref);
  EXPECT_EQ(ref.error().message, "cannot start " + s.program + ": Exec format error");
  EXPECT_NE(slurp(dir / "out.log").find("cannot execute the interpreter, errno 8"), std::string::npos);
}

TEST(Spawn, AMissingProgramIsAnExit127ThatCanBeRetried) {
  test::TempDir dir;
  boost::asio::io_context io;
  ProcessWatcher watcher(io.get_executor());
  watcher.start();
  SpawnSpec s = shell(dir, "");
  s.program = "/nonexistent/interpreter";
  auto ref = spawn(s);
  ASSERT_TRUE(ref);
  wait_for(watcher, io, ref->shim_pid);
  EXPECT_EQ(WEXITSTATUS(*read_exit_status(dir / "exit")), 127);
  EXPECT_NE(slurp(dir / "out.log").find("cannot execute the interpreter, errno 2"), std::string::npos);
}

TEST(Spawn, CgroupHoldsTheWholeTree) {
  test::TempDir dir;
  const auto cgroups = Cgroups::detect(dir.path());
  if (!cgroups.available()) {
    GTEST_SKIP() << cgroups.description();
  }
  std::vector<std::string> unenforced;
  auto cg = cgroups.create("unit-test", {}, unenforced);
  ASSERT_TRUE(cg) << cg.error().message;
  boost::asio::io_context io;
  ProcessWatcher watcher(io.get_executor());
  watcher.start();
  SpawnSpec s = shell(dir, "setsid sleep 30 & sleep 30");
  s.cgroup = *cg;
  auto ref = spawn(s);
  ASSERT_TRUE(ref);
  for (int i = 0; i < 200 && cgroups.pids(*cg).size() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(cgroups.pids(*cg).size(), 3U);  // sh, and both sleeps (one in its own session)
  cgroups.kill_all(*cg);
  wait_for(watcher, io, ref->shim_pid);
  for (int i = 0; i < 200 && !cgroups.pids(*cg).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(cgroups.pids(*cg).empty());
  for (int i = 0; i < 100 && !cgroups.remove(*cg); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::filesystem::remove(cgroups.base());
}

// Without a cgroup, a workload is asked to stop through its shim's process group; the shim
// itself ignores the signal and reports how the workload ended.
TEST(Spawn, SignalWorkloadReachesTheGroupWithoutACgroup) {
  test::TempDir dir;
  const auto cgroups = Cgroups::detect(dir.path());
  boost::asio::io_context io;
  ProcessWatcher watcher(io.get_executor());
  watcher.start();
  auto ref = spawn(shell(dir, "echo started; exec sleep 30"));
  ASSERT_TRUE(ref);
  for (int i = 0; i < 200 && slurp(dir / "out.log").empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  cgroups.signal_workload({}, ref->shim_pid, SIGTERM);
  wait_for(watcher, io, ref->shim_pid);
  const auto status = read_exit_status(dir / "exit");
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGTERM) << *status;
  std::error_code ignored;
  if (cgroups.available()) std::filesystem::remove(cgroups.base(), ignored);
}

}  // namespace
}  // namespace prisn::process
