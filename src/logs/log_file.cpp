// SPDX-License-Identifier: MIT
#include "prisn/logs/log_file.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <utility>

#include "prisn/core/files.hpp"

namespace prisn::logs {
namespace fs = std::filesystem;
namespace {

struct Checkpoint {
  std::int64_t time_ms;
  std::uint64_t size;
};

fs::path with_suffix(const fs::path& p, const std::string& suffix) {
  fs::path out = p;
  out += suffix;
  return out;
}

fs::path backup_path(const fs::path& p, int n) { return with_suffix(p, "." + std::to_string(n)); }
fs::path index_path(const fs::path& p) { return with_suffix(p, ".idx"); }
fs::path dropped_path(const fs::path& p) { return with_suffix(p, ".dropped"); }

std::uint64_t size_of(const fs::path& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

std::int64_t mtime_ms(const fs::path& p) {
  struct stat st{};
  if (::stat(p.c_str(), &st) != 0) {
    return 0;
  }
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

std::vector<Checkpoint> read_index(const fs::path& log) {
  std::vector<Checkpoint> out;
  std::ifstream in(index_path(log), std::ios::binary);
  Checkpoint c{};
  while (in.read(reinterpret_cast<char*>(&c), sizeof c)) {
    out.push_back(c);
  }
  return out;
}

void append_checkpoint(const fs::path& log, Checkpoint c) {
  const int fd = ::open(index_path(log).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd >= 0) {
    (void)!::write(fd, &c, sizeof c);
    ::close(fd);
  }
}

// Where the last `keep` bytes of a file of `size` bytes begin: at a line's start when one
// begins in them (after the last byte it is the next line's, so that one is not counted).
std::uint64_t tail_start(int fd, std::uint64_t size, std::uint64_t keep) {
  if (size <= keep) return 0;
  const std::uint64_t start = size - keep;
  char before = '\n';
  if (::pread(fd, &before, 1, static_cast<off_t>(start - 1)) != 1 || before == '\n') return start;
  std::string window(static_cast<std::size_t>(std::min<std::uint64_t>(keep, 64 * 1024)), '\0');
  const ssize_t n = ::pread(fd, window.data(), window.size(), static_cast<off_t>(start));
  if (n <= 1) return start;
  const auto newline = std::string_view(window.data(), static_cast<std::size_t>(n) - 1).find('\n');
  return newline == std::string_view::npos ? start : start + newline + 1;  // else a line cut short
}

void write_index(const fs::path& log, const std::vector<Checkpoint>& index) {
  (void)write_file_atomic(index_path(log),
                          std::string(reinterpret_cast<const char*>(index.data()), index.size() * sizeof(Checkpoint)),
                          0640);
}

// Copies the last `keep` bytes of backup `from` (from a line's start where it can) into `to`,
// with their checkpoints, and empties `from`. Returns the bytes left out.
std::uint64_t copy_tail(const fs::path& from, const fs::path& to, std::uint64_t keep) {
  const int in = ::open(from.c_str(), O_RDWR | O_CLOEXEC);
  if (in < 0) {
    return 0;
  }
  struct stat st{};
  ::fstat(in, &st);
  const std::uint64_t skipped = tail_start(in, static_cast<std::uint64_t>(st.st_size), keep);
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (out >= 0) {
    loff_t offset = static_cast<loff_t>(skipped);
    while (offset < st.st_size) {
      if (::copy_file_range(in, &offset, out, nullptr, static_cast<std::size_t>(st.st_size - offset), 0) <= 0) break;
    }
    ::close(out);
  }
  (void)!::ftruncate(in, 0);
  ::close(in);
  std::vector<Checkpoint> moved;
  for (const auto& c : read_index(from)) {
    if (c.size > skipped) moved.push_back({c.time_ms, c.size - skipped});
  }
  write_index(to, moved);
  ::unlink(index_path(from).c_str());
  return skipped;
}

// What move_head did: `from` lost its first `moved` bytes, of which those from `copy_starts_at`
// on are now in the copy.
struct Moved {
  std::uint64_t copy_starts_at = 0;
  std::uint64_t moved = 0;
};

// Moves the head of a log its process is still appending to into `to`: the last `keep` bytes
// of it (from a line's start where it can), with their checkpoints. The head is the file's
// whole blocks, taken out with FALLOC_FL_COLLAPSE_RANGE, which the kernel does under the
// same lock as appends, so no write is lost and the bytes after the head (at most
// `left_at_most`) stay in the file. Where the filesystem cannot collapse (tmpfs, some
// network filesystems), or what would stay is more than that, the whole file is copied,
// chasing appends, and emptied; what lands between the last copy and the emptying is lost.
Moved move_head(const fs::path& from, const fs::path& to, std::uint64_t keep, std::uint64_t left_at_most) {
  const int in = ::open(from.c_str(), O_RDWR | O_CLOEXEC);
  if (in < 0) return {};
  struct stat st{};
  ::fstat(in, &st);
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  loff_t offset = 0;
  auto copy_up_to = [&](std::uint64_t end) {
    while (out >= 0 && offset < static_cast<loff_t>(end)) {
      const auto n = static_cast<std::size_t>(end - static_cast<std::uint64_t>(offset));
      if (::copy_file_range(in, &offset, out, nullptr, n, 0) <= 0) break;
    }
  };
  const auto block = static_cast<std::uint64_t>(st.st_blksize > 0 ? st.st_blksize : 4096);
  std::uint64_t head = static_cast<std::uint64_t>(st.st_size) / block * block;
  if (head == static_cast<std::uint64_t>(st.st_size) && head > 0) head -= block;  // a collapse must end before the end
  std::uint64_t skipped = tail_start(in, head, keep);
  offset = static_cast<loff_t>(skipped);
  copy_up_to(head);
  const bool small_tail = static_cast<std::uint64_t>(st.st_size) - head <= left_at_most;  // a cap under a block's size
  bool emptied = false;
  if (head == 0 || !small_tail || ::fallocate(in, FALLOC_FL_COLLAPSE_RANGE, 0, static_cast<off_t>(head)) != 0) {
    ::fstat(in, &st);
    skipped = tail_start(in, static_cast<std::uint64_t>(st.st_size), keep);
    offset = static_cast<loff_t>(skipped);
    if (out >= 0) {
      (void)!::ftruncate(out, 0);
      ::lseek(out, 0, SEEK_SET);
    }
    for (int round = 0; round < 8 && offset < st.st_size; ++round) {
      copy_up_to(static_cast<std::uint64_t>(st.st_size));
      ::fstat(in, &st);
    }
    head = static_cast<std::uint64_t>(offset);
    (void)!::ftruncate(in, 0);  // at once: what the writer appends after the last copy is lost
    emptied = true;
  }
  if (out >= 0) ::close(out);
  ::close(in);
  std::vector<Checkpoint> copied, kept;
  for (const auto& c : read_index(from)) {
    if (c.size > head) {
      if (!emptied) kept.push_back({c.time_ms, c.size - head});
    } else if (c.size > skipped) {
      copied.push_back({c.time_ms, c.size - skipped});
    }
  }
  write_index(to, copied);
  write_index(from, kept);
  return {skipped, head};
}

void add_dropped(const fs::path& log, std::uint64_t bytes) {
  std::uint64_t total = bytes;
  if (auto text = read_file(dropped_path(log)); text && !text->empty()) {
    total += std::stoull(*text);
  }
  (void)write_file_atomic(dropped_path(log), std::to_string(total), 0640);
}

// The current file's share of the cap: it is rotated once past it. The backups share the rest.
std::uint64_t current_share(const Policy& policy) {
  return std::max<std::uint64_t>(policy.max_bytes / static_cast<std::uint64_t>(std::max(policy.backups, 0) + 1), 1);
}

void drop_backup(const fs::path& log, int n) {
  const fs::path backup = backup_path(log, n);
  if (const auto lost = size_of(backup); lost > 0) add_dropped(log, lost);
  ::unlink(backup.c_str());
  ::unlink(index_path(backup).c_str());
}

// The current file moves to `.1` (older backups one up, the oldest dropped). What the backups
// hold together stays within the cap less the current file's share, so that at every scan the
// log is within the cap: a burst keeps only its newest part in `.1` (from a line's start), and
// older backups keep what room is left, the oldest losing its start, so that what remains is
// the newest output without a gap. Whatever goes is counted for the marker.
Rotation rotate(const fs::path& log, const Policy& policy) {
  if (policy.backups <= 0) {
    const auto size = size_of(log);
    add_dropped(log, size);
    (void)!::truncate(log.c_str(), 0);
    ::unlink(index_path(log).c_str());
    return {{}, size, size};
  }
  drop_backup(log, policy.backups);
  for (int n = policy.backups; n > 1; --n) {
    ::rename(backup_path(log, n - 1).c_str(), backup_path(log, n).c_str());
    ::rename(index_path(backup_path(log, n - 1)).c_str(), index_path(backup_path(log, n)).c_str());
  }
  const std::uint64_t for_backups = policy.max_bytes - current_share(policy);
  const Moved head = move_head(log, backup_path(log, 1), for_backups, current_share(policy));
  const Rotation done{backup_path(log, 1), head.copy_starts_at, head.moved};
  if (done.copy_starts_at > 0) {
    // A burst bigger than the backups' part: what the older backups hold comes before a gap,
    // and the marker says output was dropped before what is kept. They go too.
    add_dropped(log, done.copy_starts_at);
    for (int n = 2; n <= policy.backups; ++n) drop_backup(log, n);
    return done;
  }
  // Older backups fill what is left of the backups' part, the oldest losing its start.
  std::uint64_t kept = size_of(backup_path(log, 1));
  for (int n = 2; n <= policy.backups; ++n) {
    const fs::path backup = backup_path(log, n);
    const std::uint64_t size = size_of(backup);
    if (kept + size <= for_backups) {
      kept += size;
      continue;
    }
    if (kept < for_backups) {
      const fs::path trimmed = with_suffix(backup, ".trim");
      if (const auto skipped = copy_tail(backup, trimmed, for_backups - kept); skipped > 0) {
        add_dropped(log, skipped);
      }
      ::rename(trimmed.c_str(), backup.c_str());
      ::rename(index_path(trimmed).c_str(), index_path(backup).c_str());
      kept = for_backups;
    } else {
      drop_backup(log, n);
    }
  }
  return done;
}

// Appends a file's bytes to `content` and its checkpoints, moved to where they now stand.
void append_file(const fs::path& file, std::string& content, std::vector<Checkpoint>& index) {
  auto text = read_file(file);
  if (!text) return;
  const std::uint64_t base = content.size();
  for (const auto& c : read_index(file)) index.push_back({c.time_ms, base + c.size});
  content += *text;
}

// Splits a log's bytes into lines, giving each the time of the first checkpoint covering its
// end (`fallback` for the last ones, written after the last checkpoint).
void split_lines(const std::string& content, const std::vector<Checkpoint>& index, std::int64_t fallback,
                 const std::string& source, std::vector<Line>& out) {
  std::size_t start = 0;
  std::size_t cp = 0;
  while (start < content.size()) {
    std::size_t end = content.find('\n', start);
    const bool complete = end != std::string::npos;
    if (!complete) end = content.size();
    while (cp < index.size() && index[cp].size < end + (complete ? 1 : 0)) {
      ++cp;
    }
    const std::int64_t t = cp < index.size() ? index[cp].time_ms : fallback;
    out.push_back({t, source, content.substr(start, end - start), complete});
    start = end + 1;
  }
}

}  // namespace

void LogFile::scan(std::int64_t now_ms, const Policy& policy, std::uint64_t& last_checkpoint,
                   const std::function<void(const Rotation&)>& rotated) {
  const std::uint64_t size = size_of(path_);
  if (size != last_checkpoint && size > 0) {
    append_checkpoint(path_, {now_ms, size});
  }
  last_checkpoint = size;
  if (size > current_share(policy)) {
    const Rotation done = rotate(path_, policy);
    last_checkpoint = this->last_checkpoint();  // what stayed, checkpointed just now
    if (rotated) rotated(done);
  }
}

std::uint64_t LogFile::last_checkpoint() const {
  const auto index = read_index(path_);
  return index.empty() ? 0 : index.back().size;
}

namespace {

// A log's bytes as one stream, backups first (a rotation cuts the file at a block's end, so a
// line may begin in a backup and end in the next file), with their checkpoints.
struct Content {
  std::string bytes;
  std::vector<Checkpoint> index;
  std::uint64_t current_size = 0;  ///< how many of the bytes, at the end, are the current file's
};

Content read_content(const fs::path& log) {
  Content c;
  for (int n = 9; n >= 1; --n) append_file(backup_path(log, n), c.bytes, c.index);
  const std::size_t before = c.bytes.size();
  append_file(log, c.bytes, c.index);
  c.current_size = c.bytes.size() - before;
  return c;
}

// The lines of `bytes` that `options` select, after the dropped-output `marker` if there is one.
std::vector<Line> select_lines(const std::string& bytes, const std::vector<Checkpoint>& index, std::int64_t fallback,
                               const std::string& source, std::string marker, const ReadOptions& options) {
  std::vector<Line> lines;
  split_lines(bytes, index, fallback, source, lines);
  if (!marker.empty()) {
    marker.pop_back();  // a line's text has no newline
    lines.insert(lines.begin(), Line{lines.empty() ? 0 : lines.front().time_ms, source, std::move(marker)});
  }
  if (options.since_ms) {
    std::erase_if(lines, [&](const Line& l) { return l.time_ms < *options.since_ms; });
  }
  if (options.tail && lines.size() > *options.tail) {
    lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(*options.tail));
  }
  return lines;
}

}  // namespace

std::vector<Line> LogFile::read(const std::string& source, const ReadOptions& options) const {
  const Content c = read_content(path_);
  return select_lines(c.bytes, c.index, mtime_ms(path_), source, dropped_marker(), options);
}

FollowStart LogFile::read_to_follow(const std::string& source, const ReadOptions& options) const {
  Content c = read_content(path_);
  const auto last_newline = c.bytes.rfind('\n');
  const std::size_t complete = last_newline == std::string::npos ? 0 : last_newline + 1;
  FollowStart out;
  out.unfinished = c.bytes.substr(complete);
  c.bytes.resize(complete);
  out.lines = select_lines(c.bytes, c.index, mtime_ms(path_), source, dropped_marker(), options);
  out.offset = c.current_size;
  return out;
}

void end_unfinished_line(const fs::path& log) {
  const int fd = ::open(log.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0) return;  // no log yet: nothing to end
  char last = '\n';
  if (const off_t size = ::lseek(fd, 0, SEEK_END); size > 0 && ::pread(fd, &last, 1, size - 1) == 1 && last != '\n') {
    (void)!::write(fd, "\n", 1);
  }
  ::close(fd);
}

std::string LogFile::dropped_marker() const {
  auto text = read_file(dropped_path(path_));
  if (!text || text->empty()) {
    return {};
  }
  return "[prisn] " + *text + " bytes of earlier output were dropped (log size limit)\n";
}

std::string LogFile::text_before_current() const {
  std::string out = dropped_marker();
  for (int n = 9; n >= 1; --n) {
    if (auto backup = read_file(backup_path(path_, n))) out += *backup;
  }
  return out;
}

void LogFile::remove() const {
  std::error_code ec;
  for (int n = 1; n <= 9; ++n) {
    fs::remove(backup_path(path_, n), ec);
    fs::remove(index_path(backup_path(path_, n)), ec);
  }
  fs::remove(path_, ec);
  fs::remove(index_path(path_), ec);
  fs::remove(dropped_path(path_), ec);
}

std::vector<Line> merge(std::vector<std::vector<Line>> sources, std::optional<std::size_t> tail) {
  std::vector<Line> all;
  for (auto& s : sources) {
    if (tail && s.size() > *tail) {
      s.erase(s.begin(), s.end() - static_cast<std::ptrdiff_t>(*tail));
    }
    std::move(s.begin(), s.end(), std::back_inserter(all));
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const Line& a, const Line& b) { return a.time_ms < b.time_ms; });
  if (tail && all.size() > *tail) {
    all.erase(all.begin(), all.end() - static_cast<std::ptrdiff_t>(*tail));
  }
  return all;
}

std::string render(const std::vector<Line>& lines, bool prefix) {
  std::string out;
  for (const auto& l : lines) {
    if (prefix) {
      out += "[" + l.source + "] ";
    }
    out += l.text;
    // The output as written: a last line without its newline is given without one (a line
    // in the middle, from another instance's output after it, ends with one).
    if (l.complete || &l != &lines.back()) out += '\n';
  }
  return out;
}

std::string Follower::read_range(const fs::path& file, std::uint64_t from, std::uint64_t to) {
  if (to <= from) return {};
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string out(static_cast<std::size_t>(to - from), '\0');
  const ssize_t n = ::pread(fd, out.data(), out.size(), static_cast<off_t>(from));
  ::close(fd);
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

namespace {

// Where text cut at `at` resumes at a line's start: `at` itself when a line ends just before it.
std::size_t next_line_start(const std::string& text, std::size_t at) {
  if (at == 0 || at >= text.size() || text[at - 1] == '\n') return std::min(at, text.size());
  const auto newline = text.find('\n', at);
  return newline == std::string::npos ? text.size() : newline + 1;
}

}  // namespace

void Follower::rotated(const Rotation& rotation) {
  if (offset_ >= rotation.moved) {  // what is left to read is still in the file
    offset_ -= rotation.moved;
    return;
  }
  // The bytes the file lost are in the copy from copy_starts_at on; the cap dropped the rest.
  const std::uint64_t end = rotation.moved;
  const std::uint64_t newest = end - std::min<std::uint64_t>(end, kMaxHeld);  // only these are worth holding
  const std::uint64_t from = std::max({offset_, rotation.copy_starts_at, newest});
  const auto at = [&](std::uint64_t pos) { return pos - rotation.copy_starts_at; };
  std::string taken = from < end ? read_range(rotation.copy, at(from), at(end)) : std::string();
  if (from > offset_) {
    // A gap: what is held from before it goes too, so that one marker stands where the gap
    // is, and what follows it starts at a line's start.
    held_lost_ += from - offset_ + held_.size();
    held_.clear();
    if (from > rotation.copy_starts_at && read_range(rotation.copy, at(from) - 1, at(from)) != "\n") {
      const auto newline = taken.find('\n');
      const std::size_t cut = newline == std::string::npos ? taken.size() : newline + 1;
      held_lost_ += cut;
      taken.erase(0, cut);
    }
  }
  held_ += taken;
  if (held_.size() > kMaxHeld) {
    const std::size_t cut = next_line_start(held_, held_.size() - kMaxHeld);
    held_lost_ += cut;
    held_.erase(0, cut);
  }
  offset_ = 0;  // the file goes on from where the copy ends
}

std::string Follower::read_new(std::size_t max) {
  if (held_lost_ > 0) {
    const auto lost = std::exchange(held_lost_, 0);
    return "[prisn] " + std::to_string(lost) + " bytes of output were dropped (the reader fell behind the log size limit)\n";
  }
  if (!held_.empty()) {
    const std::size_t n = std::min(max, held_.size());
    std::string out = held_.substr(0, n);
    held_.erase(0, n);
    return out;
  }
  const std::uint64_t size = size_of(path_);
  if (size < offset_) {
    offset_ = 0;  // emptied by someone else (a rotation this follower was not told of)
  }
  std::string out = read_range(path_, offset_, std::min<std::uint64_t>(size, offset_ + max));
  offset_ += out.size();
  return out;
}

}  // namespace prisn::logs
