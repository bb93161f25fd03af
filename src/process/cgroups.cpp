// SPDX-License-Identifier: MIT
#include "prisn/process/cgroups.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "prisn/core/files.hpp"
#include "prisn/core/hash.hpp"

namespace prisn::process {
namespace fs = std::filesystem;
namespace {

bool write_text(const fs::path& file, std::string_view text) {
  std::ofstream out(file);
  out << text;
  out.flush();
  return static_cast<bool>(out);
}

std::string own_cgroup_path() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("0::")) {
      return line.substr(3);
    }
  }
  return "/";
}

// A hash of the data directory: a short, stable name for this prisnd's subtree.
std::string subtree_name(const fs::path& data_dir) {
  std::error_code ec;
  const std::string key = fs::weakly_canonical(data_dir, ec).string();
  // This basis (one digit short of FNV's) named every subtree so far: kept, so that a new
  // prisnd finds the subtree its predecessor made.
  const std::uint64_t h = fnv1a64(key, 1469598103934665603ULL);
  return fmt::format("prisn-{:012x}", h & 0xffffffffffffULL);
}

std::vector<std::string> read_words(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) {
    out.push_back(w);
  }
  return out;
}

}  // namespace

Cgroups Cgroups::detect(const fs::path& data_dir) {
  Cgroups cg;
  fs::path mount;
  std::string kind;
  if (fs::exists("/sys/fs/cgroup/cgroup.controllers")) {
    mount = "/sys/fs/cgroup";
    kind = "cgroup v2";
  } else if (fs::exists("/sys/fs/cgroup/unified/cgroup.controllers")) {
    mount = "/sys/fs/cgroup/unified";
    kind = "cgroup v2 (hybrid mount, no resource controllers)";
  } else {
    cg.description_ = "no cgroup v2 hierarchy: stopping reaches the process group only";
    return cg;
  }
  // Under systemd (Delegate=yes) our own cgroup is the service's; create beside ourselves.
  const fs::path parent = mount / fs::path(own_cgroup_path()).relative_path();
  const fs::path base = parent / subtree_name(data_dir);
  if (::mkdir(base.c_str(), 0755) != 0 && errno != EEXIST) {
    cg.description_ = fmt::format("cannot create {} ({}): stopping reaches the process group only",
                                  base.string(), std::strerror(errno));
    return cg;
  }
  // Enable what controllers the parent offers, for limits; failures just mean no limits.
  const auto offered = read_words(base / "cgroup.controllers");
  for (const char* c : {"memory", "pids", "cpu"}) {
    if (std::find(offered.begin(), offered.end(), c) != offered.end() &&
        write_text(base / "cgroup.subtree_control", std::string("+") + c)) {
      cg.controllers_.emplace_back(c);
    }
  }
  cg.mount_ = mount;
  cg.base_ = base;
  cg.description_ = fmt::format("{} at {}; limits: {}", kind, base.string(),
                                cg.controllers_.empty() ? std::string("none")
                                                        : fmt::format("{}", fmt::join(cg.controllers_, ", ")));
  return cg;
}

std::string Cgroups::run_group(const std::string& ns, const std::string& name) {
  return fmt::format("runs.{}.{}", ns, name);
}

Result<fs::path> Cgroups::ensure_group(const std::string& group) const {
  if (!available()) {
    return Error::unavailable("cgroups are not available");
  }
  const fs::path dir = base_ / group;
  if (::mkdir(dir.c_str(), 0755) != 0) {
    if (errno == EEXIST) return dir;
    return Error::internal(fmt::format("cannot create cgroup {}: {}", dir.string(), std::strerror(errno)));
  }
  for (const auto& c : controllers_) (void)write_text(dir / "cgroup.subtree_control", "+" + c);
  return dir;
}

Result<fs::path> Cgroups::create(const std::string& name, const Limits& limits, std::vector<std::string>& unenforced,
                                 const std::string& group) const {
  if (!available()) {
    return Error::unavailable("cgroups are not available");
  }
  fs::path dir = base_;
  if (!group.empty()) {
    auto made = ensure_group(group);
    if (!made) return made.error();
    dir = *made;
  }
  dir /= name;
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Error::internal(fmt::format("cannot create cgroup {}: {}", dir.string(), std::strerror(errno)));
  }
  auto has = [this](const char* c) {
    return std::find(controllers_.begin(), controllers_.end(), c) != controllers_.end();
  };
  if (limits.memory_bytes != 0) {
    if (!has("memory") || !write_text(dir / "memory.max", std::to_string(limits.memory_bytes))) {
      unenforced.emplace_back("memory");
    }
  }
  if (limits.cpu_millis != 0) {
    // cpu.max is "QUOTA PERIOD": millicores × 100 µs per 100 ms period.
    if (!has("cpu") || !write_text(dir / "cpu.max", fmt::format("{} 100000", limits.cpu_millis * 100))) {
      unenforced.emplace_back("cpu");
    }
  }
  if (limits.pids != 0) {
    if (!has("pids") || !write_text(dir / "pids.max", std::to_string(limits.pids))) {
      unenforced.emplace_back("pids");
    }
  }
  return dir;
}

std::vector<int> Cgroups::pids(const fs::path& dir) const {
  std::vector<int> out;
  std::ifstream in(dir / "cgroup.procs");
  int pid = 0;
  while (in >> pid) {
    out.push_back(pid);
  }
  return out;
}

std::size_t Cgroups::signal_all(const fs::path& dir, int sig) const {
  std::size_t signalled = 0;
  for (int pid : pids(dir)) {
    if (::kill(pid, sig) == 0) ++signalled;
  }
  return signalled;
}

void Cgroups::signal_workload(const fs::path& cgroup, int shim_pid, int sig) const {
  if (cgroup.empty() || signal_all(cgroup, sig) == 0) ::killpg(shim_pid, sig);
}

void Cgroups::kill_all(const fs::path& dir) const {
  if (fs::exists(dir / "cgroup.kill") && write_text(dir / "cgroup.kill", "1")) {
    return;
  }
  // Older kernels: signal until no process is left (new forks race with us, so repeat).
  for (int round = 0; round < 20; ++round) {
    const auto left = pids(dir);
    if (left.empty()) {
      return;
    }
    for (int pid : left) {
      ::kill(pid, SIGKILL);
    }
  }
}

bool Cgroups::remove(const fs::path& dir) const {
  return ::rmdir(dir.c_str()) == 0 || errno == ENOENT;
}

namespace {

bool is_group(const fs::path& dir) { return dir.filename().string().find('.') != std::string::npos; }

std::vector<fs::path> child_cgroups(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory()) out.push_back(entry.path());
  }
  return out;
}

}  // namespace

std::vector<fs::path> Cgroups::list() const {
  std::vector<fs::path> out;
  for (const auto& dir : child_cgroups(base_)) {
    if (!is_group(dir)) {
      out.push_back(dir);
      continue;
    }
    for (const auto& member : child_cgroups(dir)) out.push_back(member);
  }
  return out;
}

void Cgroups::remove_empty_groups() const {
  for (const auto& dir : child_cgroups(base_)) {
    if (is_group(dir)) (void)::rmdir(dir.c_str());  // fails, as it should, while it holds runs
  }
}

}  // namespace prisn::process
