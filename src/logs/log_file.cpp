// SPDX-License-Identifier: MIT
#include "prisn/logs/log_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>

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

// Copies the last `keep` bytes of `from` (from a line's start where it can) into `to`, with
// its checkpoints, and empties `from`, chasing appends that land while copying so that
// almost nothing is lost (the window is one copy of the tail). Returns the bytes left out.
// A writer faster than the scans may have put far more than `keep` there since the last
// one: only the tail is kept, so the cap holds whatever the rate.
std::uint64_t copy_tail_truncate(const fs::path& from, const fs::path& to, std::uint64_t keep) {
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
    for (int round = 0; round < 8; ++round) {
      ::fstat(in, &st);
      if (offset >= st.st_size) {
        break;
      }
      while (offset < st.st_size) {
        const ssize_t n = ::copy_file_range(in, &offset, out, nullptr,
                                            static_cast<std::size_t>(st.st_size - offset), 0);
        if (n <= 0) {
          break;
        }
      }
    }
    ::close(out);
  }
  std::vector<Checkpoint> moved;
  for (const auto& c : read_index(from)) {
    if (c.size > skipped) moved.push_back({c.time_ms, c.size - skipped});
  }
  (void)write_file_atomic(index_path(to),
                          std::string(reinterpret_cast<const char*>(moved.data()), moved.size() * sizeof(Checkpoint)),
                          0640);
  ::unlink(index_path(from).c_str());
  (void)!::ftruncate(in, 0);
  ::close(in);
  return skipped;
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
void rotate(const fs::path& log, const Policy& policy) {
  if (policy.backups <= 0) {
    add_dropped(log, size_of(log));
    (void)!::truncate(log.c_str(), 0);
    ::unlink(index_path(log).c_str());
    return;
  }
  drop_backup(log, policy.backups);
  for (int n = policy.backups; n > 1; --n) {
    ::rename(backup_path(log, n - 1).c_str(), backup_path(log, n).c_str());
    ::rename(index_path(backup_path(log, n - 1)).c_str(), index_path(backup_path(log, n)).c_str());
  }
  const std::uint64_t for_backups = policy.max_bytes - current_share(policy);
  if (const auto skipped = copy_tail_truncate(log, backup_path(log, 1), for_backups); skipped > 0) {
    add_dropped(log, skipped);
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
      if (const auto skipped = copy_tail_truncate(backup, trimmed, for_backups - kept); skipped > 0) {
        add_dropped(log, skipped);
      }
      ::rename(trimmed.c_str(), backup.c_str());
      ::rename(index_path(trimmed).c_str(), index_path(backup).c_str());
      kept = for_backups;
    } else {
      drop_backup(log, n);
    }
  }
}

// Splits one file into lines, giving each the time of the first checkpoint covering its end.
void read_lines(const fs::path& file, const std::string& source, std::vector<Line>& out) {
  auto content = read_file(file);
  if (!content || content->empty()) {
    return;
  }
  const auto index = read_index(file);
  const std::int64_t fallback = mtime_ms(file);
  std::size_t start = 0;
  std::size_t cp = 0;
  while (start < content->size()) {
    std::size_t end = content->find('\n', start);
    const bool complete = end != std::string::npos;
    if (!complete) end = content->size();
    while (cp < index.size() && index[cp].size < end + (complete ? 1 : 0)) {
      ++cp;
    }
    const std::int64_t t = cp < index.size() ? index[cp].time_ms : fallback;
    out.push_back({t, source, content->substr(start, end - start)});
    start = end + 1;
  }
}

}  // namespace

void LogFile::scan(std::int64_t now_ms, const Policy& policy, std::uint64_t& last_checkpoint) {
  const std::uint64_t size = size_of(path_);
  if (size != last_checkpoint && size > 0) {
    append_checkpoint(path_, {now_ms, size});
  }
  last_checkpoint = size;
  if (size > current_share(policy)) {
    rotate(path_, policy);
    last_checkpoint = 0;
  }
}

std::uint64_t LogFile::last_checkpoint() const {
  const auto index = read_index(path_);
  return index.empty() ? 0 : index.back().size;
}

std::vector<Line> LogFile::read(const std::string& source, const ReadOptions& options) const {
  std::vector<Line> lines;
  for (int n = 9; n >= 1; --n) {
    const fs::path backup = backup_path(path_, n);
    if (fs::exists(backup)) {
      read_lines(backup, source, lines);
    }
  }
  read_lines(path_, source, lines);
  if (options.since_ms) {
    std::erase_if(lines, [&](const Line& l) { return l.time_ms < *options.since_ms; });
  }
  if (options.tail && lines.size() > *options.tail) {
    lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(*options.tail));
  }
  return lines;
}

std::string LogFile::dropped_marker() const {
  auto text = read_file(dropped_path(path_));
  if (!text || text->empty()) {
    return {};
  }
  return "[prisn] " + *text + " bytes of earlier output were dropped (log size limit)\n";
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
    out += '\n';
  }
  return out;
}

Follower::Follower(fs::path path, bool from_end) : path_(std::move(path)) {
  if (from_end) {
    offset_ = size_of(path_);
  }
}

std::string Follower::read_new(std::size_t max) {
  const std::uint64_t size = size_of(path_);
  if (size < offset_) {
    offset_ = 0;  // rotated or truncated: start over on the new content
  }
  if (size == offset_) {
    return {};
  }
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return {};
  }
  std::string out(std::min<std::uint64_t>(size - offset_, max), '\0');
  const ssize_t n = ::pread(fd, out.data(), out.size(), static_cast<off_t>(offset_));
  ::close(fd);
  if (n <= 0) {
    return {};
  }
  out.resize(static_cast<std::size_t>(n));
  offset_ += static_cast<std::uint64_t>(n);
  return out;
}

}  // namespace prisn::logs
