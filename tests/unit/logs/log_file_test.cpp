// SPDX-License-Identifier: MIT
#include "prisn/logs/log_file.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "prisn/core/files.hpp"
#include "support/temp_dir.hpp"

namespace prisn::logs {
namespace {

void append(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::app | std::ios::binary);
  out << text;
}

TEST(LogFile, LinesGetTheTimeOfTheCheckpointThatSawThem) {
  test::TempDir dir;
  LogFile log(dir / "a.log");
  std::uint64_t last = 0;
  append(log.path(), "one\ntwo\n");
  log.scan(1000, {}, last);
  append(log.path(), "three\n");
  log.scan(2000, {}, last);
  log.scan(3000, {}, last);  // no growth: no checkpoint
  const auto lines = log.read("a-0", {});
  ASSERT_EQ(lines.size(), 3U);
  EXPECT_EQ(lines[0].time_ms, 1000);
  EXPECT_EQ(lines[1].time_ms, 1000);
  EXPECT_EQ(lines[2].time_ms, 2000);
  EXPECT_EQ(lines[2].text, "three");
  EXPECT_EQ(lines[2].source, "a-0");
  EXPECT_EQ(log.read("", {2, std::nullopt}).size(), 2U);
  EXPECT_EQ(log.read("", {std::nullopt, 1500}).size(), 1U);
  EXPECT_EQ(log.last_checkpoint(), 14U);
}

TEST(LogFile, RotatesOverTheLimitKeepingBackupsAndCountingDrops) {
  test::TempDir dir;
  LogFile log(dir / "svc.log");
  const Policy policy{24, 1};  // 12 bytes for the file, 12 for its backup
  std::uint64_t last = 0;
  append(log.path(), "aaaaaaaaaa\nbbbbbbbbbb\n");  // 22 bytes > 12: the last line is kept
  log.scan(1, policy, last);
  EXPECT_EQ(std::filesystem::file_size(log.path()), 0U);
  EXPECT_EQ(std::filesystem::file_size(dir / "svc.log.1"), 11U);
  EXPECT_NE(log.dropped_marker().find("[prisn] 11 bytes"), std::string::npos);
  append(log.path(), "cccccccccc\n");
  auto lines = log.read("", {});
  ASSERT_EQ(lines.size(), 3U);
  EXPECT_EQ(lines[0].text, "[prisn] 11 bytes of earlier output were dropped (log size limit)");  // where they were
  EXPECT_EQ(lines[1].text, "bbbbbbbbbb");
  EXPECT_EQ(lines[1].time_ms, 1);  // the checkpoints move with the bytes
  append(log.path(), "dddddddddd\n");
  log.scan(2, policy, last);  // the first backup falls off
  lines = log.read("", {});
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[1].text, "dddddddddd");
  EXPECT_NE(log.dropped_marker().find("[prisn] 33 bytes"), std::string::npos);
  log.remove();
  EXPECT_FALSE(std::filesystem::exists(dir / "svc.log.1"));
}

// A writer faster than the scans: however much came since the last one, the cap holds.
TEST(LogFile, KeepsOnlyTheCapOfABurst) {
  test::TempDir dir;
  LogFile log(dir / "burst.log");
  const Policy policy{1024, 2};
  std::uint64_t last = 0;
  std::string burst;
  for (int i = 0; i < 1000; ++i) burst += "line " + std::to_string(i) + " of the burst\n";
  append(log.path(), burst);
  log.scan(1, policy, last);
  std::uint64_t kept = 0;
  for (const char* name : {"burst.log", "burst.log.1", "burst.log.2"}) {
    if (std::filesystem::exists(dir / name)) kept += std::filesystem::file_size(dir / name);
  }
  EXPECT_LE(kept, 1024U * 2 / 3);  // the backups' part of the cap: the current file is empty
  EXPECT_GE(kept, 1024U * 2 / 3 - 30);  // all of it but the start of a line
  const auto lines = log.read("", {});
  ASSERT_GE(lines.size(), 2U);
  EXPECT_EQ(lines.back().text, "line 999 of the burst");
  EXPECT_EQ(lines[0].text.rfind("[prisn] ", 0), 0U);  // the marker first
  EXPECT_EQ(lines[1].text.rfind("line ", 0), 0U);     // then whole lines only
  EXPECT_NE(log.dropped_marker().find(std::to_string(burst.size() - kept) + " bytes"), std::string::npos);
}

// Slow writes: the backups together stay within their part of the cap, the newest output kept.
TEST(LogFile, SteadyOutputKeepsTheNewestWithinTheCap) {
  test::TempDir dir;
  LogFile log(dir / "steady.log");
  const Policy policy{300, 2};  // 100 bytes for the file, 200 for the backups
  std::uint64_t last = 0;
  for (int i = 0; i < 30; ++i) {
    append(log.path(), std::string(19, static_cast<char>('a' + i % 26)) + "\n");
    log.scan(i, policy, last);
  }
  std::uint64_t kept = 0;
  for (const char* name : {"steady.log", "steady.log.1", "steady.log.2"}) {
    if (std::filesystem::exists(dir / name)) kept += std::filesystem::file_size(dir / name);
  }
  EXPECT_LE(kept, 300U);
  auto lines = log.read("", {});
  ASSERT_GE(lines.size(), 10U);
  ASSERT_EQ(lines.front().text.rfind("[prisn] ", 0), 0U);
  lines.erase(lines.begin());  // the marker
  for (std::size_t i = 1; i < lines.size(); ++i) {  // the newest lines, in order, without a gap
    EXPECT_EQ((lines[i].text[0] - 'a' + 26) % 26, (lines[i - 1].text[0] - 'a' + 1) % 26) << i;
  }
  EXPECT_EQ(lines.back().text[0], 'a' + 29 % 26);
  EXPECT_NE(log.dropped_marker().find(std::to_string(30 * 20 - kept) + " bytes"), std::string::npos);
}

// A line longer than a share is cut, not dropped whole.
TEST(LogFile, KeepsTheEndOfALineLongerThanAShare) {
  test::TempDir dir;
  LogFile log(dir / "long.log");
  std::uint64_t last = 0;
  append(log.path(), std::string(100, 'x') + "\n");
  log.scan(1, Policy{20, 1}, last);
  EXPECT_EQ(std::filesystem::file_size(dir / "long.log.1"), 10U);
}

// A rotation of a file bigger than a block takes whole blocks off its head and leaves the
// rest in place: nothing written is lost, and a line cut at the block's end reads whole.
TEST(LogFile, RotationTakesTheHeadAndLosesNothing) {
  test::TempDir dir;
  LogFile log(dir / "big.log");
  const Policy policy{5 * 8192, 4};
  std::uint64_t last = 0;
  std::string written;
  for (int i = 0; i < 1000; ++i) written += "line " + std::to_string(i) + " of the output\n";
  append(log.path(), written);  // about 22 KiB: over the 8 KiB share, within the 32 KiB of backups
  Rotation seen;
  log.scan(1, policy, last, [&](const Rotation& r) { seen = r; });
  EXPECT_GT(seen.moved, 0U);
  EXPECT_EQ(seen.copy_starts_at, 0U);
  const auto left = std::filesystem::file_size(log.path());
  EXPECT_EQ(seen.moved + left, written.size());
  EXPECT_EQ(log.dropped_marker(), "");
  std::string lines;
  for (const auto& l : log.read("", {})) lines += l.text + "\n";
  EXPECT_EQ(lines, written);
  EXPECT_EQ(log.text_before_current() + *read_file(log.path()), written);
}

TEST(LogFile, MergeOrdersByTimeStablyAndTailsOverall) {
  std::vector<std::vector<Line>> sources = {
      {{1, "api-0", "a1"}, {3, "api-0", "a3"}},
      {{1, "api-1", "b1"}, {2, "api-1", "b2"}},
  };
  auto merged = merge(sources, std::nullopt);
  std::vector<std::string> texts;
  for (const auto& l : merged) texts.push_back(l.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"a1", "b1", "b2", "a3"}));
  EXPECT_EQ(render(merge(sources, 2), true), "[api-1] b2\n[api-0] a3\n");
}

TEST(LogFile, PartialLastLineIsKept) {
  test::TempDir dir;
  LogFile log(dir / "p.log");
  append(log.path(), "done\nhalf");
  const auto lines = log.read("", {});
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[1].text, "half");
  EXPECT_FALSE(lines[1].complete);
  EXPECT_EQ(render(lines, false), "done\nhalf");  // as written: no newline added
  EXPECT_EQ(render(log.read("", {.tail = 1}), false), "half");
  // Merged with another instance's later output, the partial line ends where that begins.
  const auto merged = merge({lines, {{lines.back().time_ms + 1, "b", "next"}}}, std::nullopt);
  EXPECT_EQ(render(merged, false), "done\nhalf\nnext\n");
}

TEST(LogFile, ReadToFollowEndsAtTheLastNewlineAndSaysWhereToGoOn) {
  test::TempDir dir;
  LogFile log(dir / "r.log");
  append(log.path(), "one\ntwo\nhal");
  const auto start = log.read_to_follow("a-0", {.tail = 1});
  ASSERT_EQ(start.lines.size(), 1U);
  EXPECT_EQ(start.lines[0].text, "two");
  EXPECT_EQ(start.unfinished, "hal");
  EXPECT_EQ(start.offset, 11U);
  // What a follower from there reads completes the line; nothing is read twice.
  append(log.path(), "f\nthree\n");
  Follower f(log.path(), start.offset);
  EXPECT_EQ(start.unfinished + f.read_new(), "half\nthree\n");
  // A file that is all one unfinished line has no complete line yet.
  LogFile bare(dir / "b.log");
  append(bare.path(), "partial");
  const auto none = bare.read_to_follow("", {});
  EXPECT_TRUE(none.lines.empty());
  EXPECT_EQ(none.unfinished, "partial");
  EXPECT_EQ(none.offset, 7U);
}

TEST(Follower, TakesWhatARotationMovedAndMarksWhatTheCapDropped) {
  test::TempDir dir;
  const auto p = dir / "f.log";
  const auto copy = dir / "f.log.1";
  append(p, "0123456789abcdef");
  Follower f(p, 0U);
  EXPECT_EQ(f.read_new(4), "0123");
  // A rotation moved the first 12 bytes away, keeping bytes 6.. in the copy.
  append(copy, "6789ab");
  std::filesystem::resize_file(p, 0);
  append(p, "cdefXY");
  f.rotated({copy, 6, 12});
  EXPECT_EQ(f.read_new(), "[prisn] 2 bytes of output were dropped (the reader fell behind the log size limit)\n");
  EXPECT_EQ(f.read_new(), "6789ab");
  EXPECT_EQ(f.read_new(), "cdefXY");
  // A rotation of bytes it had read already only moves where it is.
  std::filesystem::resize_file(p, 0);
  append(p, "XY");  // "cdef" moved away
  f.rotated({copy, 0, 4});
  append(p, "Z");
  EXPECT_EQ(f.read_new(), "Z");
}

TEST(Follower, ReadsAppendsAndSurvivesTruncation) {
  test::TempDir dir;
  const auto p = dir / "f.log";
  append(p, "old\n");
  Follower from_end(p, std::filesystem::file_size(p));
  Follower from_start(p, 0U);
  EXPECT_EQ(from_end.read_new(), "");
  EXPECT_EQ(from_start.read_new(), "old\n");
  append(p, "new\n");
  EXPECT_EQ(from_end.read_new(), "new\n");
  std::filesystem::resize_file(p, 0);
  append(p, "x\n");
  EXPECT_EQ(from_end.read_new(), "x\n");
}

}  // namespace
}  // namespace prisn::logs
