// SPDX-License-Identifier: MIT
#include "prisn/logs/log_monitor.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <fstream>
#include <thread>

#include "support/temp_dir.hpp"

namespace prisn::logs {
namespace {

using namespace std::chrono_literals;

void append(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::app | std::ios::binary);
  out << text;
}

// Two instances' logs, a.log and b.log, watched by a monitor whose sweep comes later than
// the test ends: only the scans on each write can date their lines.
class TwoLogs : public ::testing::Test {
 protected:
  TwoLogs() {
    append(a, "");
    append(b, "");
    monitor.add(a, {});
    monitor.add(b, {});
  }
  std::vector<std::string> merged() const {
    std::vector<std::string> out;
    for (const auto& line : merge({LogFile(a).read("a", {}), LogFile(b).read("b", {})}, std::nullopt)) {
      out.push_back(line.source + ":" + line.text);
    }
    return out;
  }

  test::TempDir dir;
  const std::filesystem::path a = dir / "a.log", b = dir / "b.log";
  boost::asio::io_context io;
  LogMonitor monitor{io.get_executor(), 60s};
};

// Two instances writing in turn, 20 ms apart.
TEST_F(TwoLogs, DatesEachWriteSoThatInstancesMergeInTheOrderTheyWrote) {
  for (int i = 0; i < 3; ++i) {
    append(a, "a" + std::to_string(i) + "\n");
    io.run_for(20ms);
    append(b, "b" + std::to_string(i) + "\n");
    io.run_for(20ms);
  }
  monitor.remove(a);
  monitor.remove(b);
  EXPECT_EQ(merged(), (std::vector<std::string>{"a:a0", "b:b0", "a:a1", "b:b1", "a:a2", "b:b2"}));
}

// A write while the watch is off between two reports: it is dated when the pause ends, not
// at the next sweep.
TEST_F(TwoLogs, AWriteDuringThePauseIsDatedWhenThePauseEnds) {
  append(a, "a0\n");
  io.run_for(1ms);
  append(a, "a1\n");  // most likely during the pause
  io.run_for(30ms);
  append(b, "b0\n");
  io.run_for(20ms);
  monitor.remove(b);
  std::this_thread::sleep_for(5ms);
  monitor.remove(a);  // a1, if the pause's end had not dated it, would get this later time
  EXPECT_EQ(merged(), (std::vector<std::string>{"a:a0", "a:a1", "b:b0"}));
}

// A rolling restart starts the new instance (same name, same log) before the old one stops:
// the old one's removal must not stop the watch the new one still needs.
TEST_F(TwoLogs, ALogAddedTwiceIsWatchedUntilRemovedTwice) {
  monitor.add(a, {});  // the new instance
  monitor.remove(a);   // the old one stops
  append(a, "a0\n");
  io.run_for(20ms);
  append(b, "b0\n");
  io.run_for(20ms);
  append(a, "a1\n");
  io.run_for(20ms);
  EXPECT_EQ(merged(), (std::vector<std::string>{"a:a0", "b:b0", "a:a1"}));
  monitor.remove(a);
  monitor.remove(b);
}

// A follower told of each rotation reads everything written, in order, across them.
TEST(LogMonitorRotation, AFollowerToldOfRotationsMissesNothing) {
  test::TempDir dir;
  const auto path = dir / "run.log";
  append(path, "");
  boost::asio::io_context io;
  LogMonitor monitor{io.get_executor(), 60s};
  Follower follower(path, /*from_end=*/false);
  int grew = 0;
  auto subscription = monitor.subscribe(path, [&] { ++grew; }, [&](const Rotation& r) { follower.rotated(r); });
  monitor.add(path, Policy{5 * 16 * 1024, 4});  // rotated past 16 KiB
  std::string written, read;
  for (int i = 0; i < 20000; ++i) {
    const std::string line = std::to_string(i) + " " + std::string(20, 'x') + "\n";
    append(path, line);
    written += line;
    if (i % 500 == 0) {
      monitor.scan(path);                       // may rotate
      if (i % 1500 == 0) read += follower.read_new();  // a reader slower than the rotations
    }
  }
  monitor.scan(path);
  for (std::string more = follower.read_new(); !more.empty(); more = follower.read_new()) read += more;
  EXPECT_TRUE(std::filesystem::exists(dir / "run.log.2"));  // it did rotate, several times
  EXPECT_EQ(grew, 41);  // once per scan that found output
  EXPECT_EQ(read.substr(0, 8), written.substr(0, 8));
  // What the cap kept, the follower got all of; what it dropped before the follower read it
  // is one marker line.
  std::size_t marker = read.find("[prisn] ");
  if (marker == std::string::npos) {
    EXPECT_EQ(read, written);
  } else {
    const auto end = read.find('\n', marker);
    EXPECT_EQ(written.substr(written.size() - (read.size() - end - 1)), read.substr(end + 1));
  }
  monitor.remove(path);
}

}  // namespace
}  // namespace prisn::logs
