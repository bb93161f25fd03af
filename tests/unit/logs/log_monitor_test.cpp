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

std::vector<std::string> merged_text(const std::filesystem::path& a, const std::filesystem::path& b) {
  std::vector<std::string> out;
  for (const auto& line : merge({LogFile(a).read("a", {}), LogFile(b).read("b", {})}, std::nullopt)) {
    out.push_back(line.source + ":" + line.text);
  }
  return out;
}

// Two instances writing in turn, 20 ms apart: far less than the sweep's interval (here
// longer than the test), so only the scans on each write can date their lines.
TEST(LogMonitor, DatesEachWriteSoThatInstancesMergeInTheOrderTheyWrote) {
  test::TempDir dir;
  const auto a = dir / "a.log", b = dir / "b.log";
  append(a, "");
  append(b, "");
  boost::asio::io_context io;
  LogMonitor monitor(io.get_executor(), 60s);
  monitor.add(a, {});
  monitor.add(b, {});
  for (int i = 0; i < 3; ++i) {
    append(a, "a" + std::to_string(i) + "\n");
    io.run_for(20ms);
    append(b, "b" + std::to_string(i) + "\n");
    io.run_for(20ms);
  }
  monitor.remove(a);
  monitor.remove(b);
  EXPECT_EQ(merged_text(a, b), (std::vector<std::string>{"a:a0", "b:b0", "a:a1", "b:b1", "a:a2", "b:b2"}));
}

// A write while the monitor pauses between two reads of inotify: it is dated when the pause
// ends, not at the next sweep.
TEST(LogMonitor, AWriteDuringThePauseIsDatedWhenThePauseEnds) {
  test::TempDir dir;
  const auto a = dir / "a.log", b = dir / "b.log";
  append(a, "");
  append(b, "");
  boost::asio::io_context io;
  LogMonitor monitor(io.get_executor(), 60s);
  monitor.add(a, {});
  monitor.add(b, {});
  append(a, "a0\n");
  io.run_for(1ms);
  append(a, "a1\n");  // most likely during the pause
  io.run_for(30ms);
  append(b, "b0\n");
  io.run_for(20ms);
  monitor.remove(b);
  std::this_thread::sleep_for(5ms);
  monitor.remove(a);  // a1, if the pause's end had not dated it, would get this later time
  EXPECT_EQ(merged_text(a, b), (std::vector<std::string>{"a:a0", "a:a1", "b:b0"}));
}

}  // namespace
}  // namespace prisn::logs
