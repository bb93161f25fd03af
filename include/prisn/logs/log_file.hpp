// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace prisn::logs {

/// How big one log may grow: `max_bytes` in all, the file and its `backups` together (SPEC
/// §6.3: 10 MiB per log). Past its share (max_bytes / (backups + 1)) the file moves to `.1`
/// and older ones to `.2` …, the backups together keeping at most the rest of the cap (a burst
/// keeps its newest part, from a line's start); whatever goes is counted, and readers see a
/// marker saying how much was dropped.
struct Policy {
  std::uint64_t max_bytes = 10 * 1024 * 1024;
  int backups = 2;
};

/// One line of output with the time prisn first saw it (milliseconds since the epoch) and
/// where it came from (an instance name, or empty).
struct Line {
  std::int64_t time_ms = 0;
  std::string source;
  std::string text;  ///< without the newline
};

struct ReadOptions {
  std::optional<std::size_t> tail;         ///< only the last N lines
  std::optional<std::int64_t> since_ms;    ///< only lines seen at or after this time
};

/// A process's log file, written by the process itself (O_APPEND) and watched by prisn.
///
/// Processes write without timestamps, so prisn keeps a sidecar index (`.idx`): each time it
/// sees the file grow it records (time, size). A line's time is the first checkpoint that
/// covers its end, which orders the lines of several instances at the resolution of the scan
/// interval and serves `since`. Thread-compatible; the control thread uses it.
class LogFile {
 public:
  explicit LogFile(std::filesystem::path path) : path_(std::move(path)) {}

  const std::filesystem::path& path() const { return path_; }

  /// Records a checkpoint if the file changed size since `last_checkpoint` (updated), then
  /// rotates it when it is over the policy's size.
  void scan(std::int64_t now_ms, const Policy& policy, std::uint64_t& last_checkpoint);

  /// The size at the last recorded checkpoint (reads the index once; for a watcher's start).
  std::uint64_t last_checkpoint() const;

  /// Lines of the backups and the current file, oldest first, with times; applies `options`.
  std::vector<Line> read(const std::string& source, const ReadOptions& options) const;

  /// The "earlier output was dropped" marker, or empty.
  std::string dropped_marker() const;

  /// Removes the file, its index, backups and markers.
  void remove() const;

 private:
  std::filesystem::path path_;
};

/// Merges several sources' lines by time (stable: equal times keep source order), then keeps
/// the last `tail` lines overall.
std::vector<Line> merge(std::vector<std::vector<Line>> sources, std::optional<std::size_t> tail);

/// Renders lines as text, each ending in '\n'; with `prefix`, "[source] " before each.
std::string render(const std::vector<Line>& lines, bool prefix);

/// Reads what was appended to a file since the last call, surviving rotation (a file that
/// shrank is read again from its start).
class Follower {
 public:
  /// Starts at the current end of the file when `from_end`, else at its start.
  Follower(std::filesystem::path path, bool from_end);
  /// New bytes (possibly ending mid-line), at most `max` at a time.
  std::string read_new(std::size_t max = 256 * 1024);

 private:
  std::filesystem::path path_;
  std::uint64_t offset_ = 0;
};

}  // namespace prisn::logs
