// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
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
  bool complete = true;  ///< false for output not ended by a newline (yet)
};

struct ReadOptions {
  std::optional<std::size_t> tail;         ///< only the last N lines
  std::optional<std::int64_t> since_ms;    ///< only lines seen at or after this time
  std::string instance;                    ///< a service's: one instance's log (NAME-i); empty: all
};

/// What a rotation did: the file lost its first `moved` bytes (the rest moved to offset 0);
/// of those, the ones from `copy_starts_at` on are in `copy` (the first backup; none when the
/// policy keeps no backups), the ones before it were dropped.
struct Rotation {
  std::filesystem::path copy;
  std::uint64_t copy_starts_at = 0;
  std::uint64_t moved = 0;
};

/// Where a follower goes on after an initial read (LogFile::read_to_follow): `lines` are the
/// complete lines read, `unfinished` the bytes after the last newline, and `offset` how many
/// bytes of the current file were read, so a Follower starting there misses nothing.
struct FollowStart {
  std::vector<Line> lines;
  std::string unfinished;
  std::uint64_t offset = 0;
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
  /// rotates it when it is over the policy's size, calling `rotated` after.
  void scan(std::int64_t now_ms, const Policy& policy, std::uint64_t& last_checkpoint,
            const std::function<void(const Rotation&)>& rotated = {});

  /// The size at the last recorded checkpoint (reads the index once; for a watcher's start).
  std::uint64_t last_checkpoint() const;

  /// Lines of the backups and the current file, oldest first, with times; applies `options`.
  /// When output was dropped, the first line is the marker saying how much.
  std::vector<Line> read(const std::string& source, const ReadOptions& options) const;

  /// As read(), but only complete lines, and where to follow on from them.
  FollowStart read_to_follow(const std::string& source, const ReadOptions& options) const;

  /// The "earlier output was dropped" marker, or empty.
  std::string dropped_marker() const;

  /// The marker and the backups' bytes, oldest first: what comes before the current file,
  /// byte-exact.
  std::string text_before_current() const;

  /// Removes the file, its index, backups and markers.
  void remove() const;

 private:
  std::filesystem::path path_;
};

/// Ends the log's last line with a newline if a process left it unfinished, so the next
/// process's output (a restarted instance's) starts on a line of its own.
void end_unfinished_line(const std::filesystem::path& log);

/// Merges several sources' lines by time (stable: equal times keep source order), then keeps
/// the last `tail` lines overall.
std::vector<Line> merge(std::vector<std::vector<Line>> sources, std::optional<std::size_t> tail);

/// Renders lines as text, each ending in '\n'; with `prefix`, "[source] " before each.
std::string render(const std::vector<Line>& lines, bool prefix);

/// Reads what was appended to a file since the last call. Rotation takes the head of the file
/// away in place (its writer keeps appending to it): told of one (rotated(), from the
/// LogMonitor), the follower takes what it had not read of the head from the rotation's copy
/// and goes on in the file, so nothing is skipped. What it holds so is bounded (kMaxHeld): a
/// reader that falls further behind, or output the cap dropped before this reader saw it, is
/// replaced by a marker saying how many bytes are missing.
class Follower {
 public:
  static constexpr std::size_t kMaxHeld = 8 * 1024 * 1024;

  /// Starts at byte `offset` of the file.
  Follower(std::filesystem::path path, std::uint64_t offset) : path_(std::move(path)), offset_(offset) {}
  /// New bytes (possibly ending mid-line), at most `max` at a time.
  std::string read_new(std::size_t max = 1024 * 1024);
  /// `rotation` just took the file's head away: takes what was left to read of it.
  void rotated(const Rotation& rotation);

 private:
  static std::string read_range(const std::filesystem::path& file, std::uint64_t from, std::uint64_t to);

  std::filesystem::path path_;
  std::uint64_t offset_ = 0;
  std::string held_;            ///< read before a rotation, not returned yet
  std::uint64_t held_lost_ = 0;  ///< bytes dropped from held_ (over kMaxHeld), for the marker
};

}  // namespace prisn::logs
