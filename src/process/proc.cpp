// SPDX-License-Identifier: MIT
#include "prisn/process/proc.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "prisn/core/files.hpp"

namespace prisn::process {
namespace {

// Fields after the command name, which may itself hold spaces and parentheses.
std::optional<std::vector<std::string>> stat_fields(int pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!text) {
    return std::nullopt;
  }
  const auto close = text->rfind(')');
  if (close == std::string::npos) {
    return std::nullopt;
  }
  std::istringstream rest(text->substr(close + 1));
  std::vector<std::string> fields;
  std::string f;
  while (rest >> f) {
    fields.push_back(f);
  }
  return fields;
}

}  // namespace

std::optional<std::uint64_t> start_ticks(int pid) {
  if (pid <= 0) {
    return std::nullopt;
  }
  auto fields = stat_fields(pid);
  // fields[0] is field 3 (state); start time is field 22.
  if (!fields || fields->size() < 20) {
    return std::nullopt;
  }
  return std::stoull((*fields)[19]);
}

bool is_same_process(int pid, std::uint64_t ticks) {
  auto fields = stat_fields(pid);
  if (!fields || fields->size() < 20) {
    return false;
  }
  if ((*fields)[0] == "Z" || (*fields)[0] == "X") {
    return false;
  }
  return std::stoull((*fields)[19]) == ticks;
}

std::string signal_name(int sig) {
  if (const char* abbrev = sigabbrev_np(sig)) {
    return std::string("SIG") + abbrev;
  }
  return "signal " + std::to_string(sig);
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) {
    return "exit code " + std::to_string(WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           signal_name(WTERMSIG(status)) + ")";
  }
  return "unknown wait status " + std::to_string(status);
}

std::uint64_t self_rss_bytes() {
  std::ifstream in("/proc/self/statm");
  std::uint64_t size = 0;
  std::uint64_t resident = 0;
  in >> size >> resident;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

std::vector<int> children_of(int pid) {
  std::vector<int> out;
  std::error_code ec;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream in(task.path() / "children");
    int child = 0;
    while (in >> child) {
      out.push_back(child);
    }
  }
  return out;
}

}  // namespace prisn::process
