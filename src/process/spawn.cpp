// SPDX-License-Identifier: MIT
#include "prisn/process/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "prisn/core/files.hpp"
#include "prisn/process/proc.hpp"

namespace prisn::process {
namespace {

// Everything the child needs, prepared before fork so the child never allocates.
struct ChildPlan {
  std::vector<char*> argv;
  std::vector<char*> envp;
  const char* program = nullptr;
  const char* cwd = nullptr;
  const char* exit_tmp = nullptr;
  const char* exit_final = nullptr;
  int log_fd = -1;
  int null_fd = -1;
  int cgroup_fd = -1;
  int report_fd = -1;  // write end: the workload's pid, or -errno
  const char* resolv_conf = nullptr;
  const char* hosts_file = nullptr;
  int netns_fd = -1;
};

std::vector<char*> c_strings(const std::vector<std::string>& items) {
  std::vector<char*> out;
  out.reserve(items.size() + 1);
  for (const auto& s : items) {
    out.push_back(const_cast<char*>(s.c_str()));
  }
  out.push_back(nullptr);
  return out;
}

void reset_signals_to_default() {
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) {
      ::signal(sig, SIG_DFL);
    }
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

void close_from(unsigned first) { ::syscall(SYS_close_range, first, ~0U, 0); }

// Closes every descriptor from 3 up but those in `keep` (-1 entries ignored). A forked child
// holds a copy of each of prisnd's descriptors until it lets go of them, and a listening
// socket copied so keeps its port taken after prisnd closes it (a service deleted and
// deployed again at once would find its port in use): children let go first thing.
// Async-signal-safe: no allocation.
template <std::size_t N>
void close_all_but(std::array<int, N> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned next = 3;  // the lowest descriptor not yet closed or kept
  for (int fd : keep) {
    if (fd < static_cast<int>(next)) continue;  // -1, 0-2, or a duplicate
    if (static_cast<unsigned>(fd) > next) ::syscall(SYS_close_range, next, static_cast<unsigned>(fd) - 1, 0);
    next = static_cast<unsigned>(fd) + 1;
  }
  close_from(next);
}

void write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
}

// Decimal without allocation (async-signal-safe).
std::size_t format_int(long value, char* buf) {
  char tmp[24];
  std::size_t n = 0;
  const bool negative = value < 0;
  unsigned long v = negative ? static_cast<unsigned long>(-value) : static_cast<unsigned long>(value);
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  std::size_t out = 0;
  if (negative) buf[out++] = '-';
  while (n > 0) buf[out++] = tmp[--n];
  return out;
}

void say(const char* text) { write_all(STDERR_FILENO, text, std::strlen(text)); }

// A private mount namespace in which /etc/resolv.conf is prisn's, so names under prisn.local
// resolve inside the workload (SPEC 7.1), and in bridge mode /etc/hosts names the instance.
// Mount propagation is made private first, so the bind mounts never show on the node.
void use_prisn_files(const char* resolv_conf, const char* hosts_file) {
  if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    say("prisn: cannot make a mount namespace; using the node's /etc/resolv.conf and /etc/hosts\n");
    return;
  }
  if (resolv_conf != nullptr && ::mount(resolv_conf, "/etc/resolv.conf", nullptr, MS_BIND, nullptr) != 0) {
    say("prisn: cannot point /etc/resolv.conf at prisn DNS; using the node's\n");
  }
  if (hosts_file != nullptr && ::mount(hosts_file, "/etc/hosts", nullptr, MS_BIND, nullptr) != 0) {
    say("prisn: cannot put the instance's /etc/hosts in place; using the node's\n");
  }
}

void join_network(int netns_fd) {
  if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0) {
    say("prisn: cannot join the instance's network namespace\n");
    ::_exit(126);
  }
}

// `ready_fd` (close-on-exec) tells the shim how the exec went: end of file when it worked,
// the errno when it did not.
[[noreturn]] void exec_workload(const ChildPlan& plan, int ready_fd) {
  if (ready_fd < 3) ready_fd = -1;  // a prisnd started without stdio: the dup2s below would take it
  reset_signals_to_default();
  if (plan.cgroup_fd >= 0) {
    write_all(plan.cgroup_fd, "0", 1);  // "0" moves the writing process
  }
  ::dup2(plan.null_fd, STDIN_FILENO);
  ::dup2(plan.log_fd, STDOUT_FILENO);
  ::dup2(plan.log_fd, STDERR_FILENO);
  join_network(plan.netns_fd);
  if (plan.resolv_conf != nullptr || plan.hosts_file != nullptr) {
    use_prisn_files(plan.resolv_conf, plan.hosts_file);
  }
  if (::chdir(plan.cwd) != 0) {
    const char msg[] = "prisn: cannot enter the working directory\n";
    write_all(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(126);
  }
  // Descriptor 3 carries `ready_fd` past the close of every other one.
  if (ready_fd >= 0 && ready_fd != 3) ready_fd = ::dup3(ready_fd, 3, O_CLOEXEC);
  close_from(ready_fd == 3 ? 4 : 3);
  ::execve(plan.program, plan.argv.data(), plan.envp.data());
  const int exec_errno = errno;
  const char msg[] = "prisn: cannot execute the interpreter, errno ";
  write_all(STDERR_FILENO, msg, sizeof msg - 1);
  char num[24];
  const std::size_t n = format_int(exec_errno, num);
  num[n] = '\n';
  write_all(STDERR_FILENO, num, n + 1);
  if (ready_fd == 3) write_all(ready_fd, reinterpret_cast<const char*>(&exec_errno), sizeof exec_errno);
  ::_exit(127);
}

// An exec that fails for good: the interpreter is no program for this kernel, or may not be
// run, or the arguments and environment are too long. Such a start is an error, said at once.
// One that may pass (ETXTBSY or ENOENT while the interpreter is being replaced, ENOMEM) ends
// the workload with 127 instead, and a service's restart delay tries again.
bool lasting_exec_error(int err) {
  return err == E2BIG || err == ENOEXEC || err == EACCES || err == EPERM || err == ELIBBAD || err == EISDIR;
}

[[noreturn]] void run_shim(const ChildPlan& plan) {
  close_all_but(std::array{plan.log_fd, plan.null_fd, plan.cgroup_fd, plan.report_fd, plan.netns_fd});
  ::setsid();
  reset_signals_to_default();
  ::prctl(PR_SET_NAME, "prisn-shim", 0, 0, 0);
  // The workload's pid goes to prisnd only once the workload has joined and made its
  // namespaces (its end of `ready` closes as it execs): an exec health check that joins
  // them through /proc/PID/ns must not find the node's instead.
  // An exec that fails for good (E2BIG, ENOEXEC…) is reported as the start's error, as a failed
  // fork is, rather than as the "exit code 127" that would hide why.
  int ready[2];
  const bool wait_ready = ::pipe2(ready, O_CLOEXEC) == 0;
  const pid_t workload = ::fork();
  const int fork_errno = errno;
  if (workload == 0) {
    if (wait_ready) ::close(ready[0]);
    exec_workload(plan, wait_ready ? ready[1] : -1);
  }
  int exec_errno = 0;
  if (wait_ready) {
    ::close(ready[1]);
    ssize_t got = 0;
    do {
      got = workload > 0 ? ::read(ready[0], &exec_errno, sizeof exec_errno) : 0;
    } while (got < 0 && errno == EINTR);
    if (got != sizeof exec_errno || !lasting_exec_error(exec_errno)) exec_errno = 0;
    ::close(ready[0]);
  }
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2}) {
    ::signal(sig, SIG_IGN);
  }
  const int report = workload < 0 ? -fork_errno : exec_errno != 0 ? -exec_errno : workload;
  write_all(plan.report_fd, reinterpret_cast<const char*>(&report), sizeof report);
  if (report < 0) {
    if (workload > 0) ::waitpid(workload, nullptr, 0);
    ::_exit(127);
  }
  close_from(0);  // hold nothing of prisnd's: not its sockets, not its database
  int status = 0;
  while (::waitpid(workload, &status, 0) < 0) {
    if (errno != EINTR) {
      ::_exit(1);
    }
  }
  const int fd = ::open(plan.exit_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) {
    char buf[32];
    std::size_t n = format_int(status, buf);
    buf[n++] = '\n';
    write_all(fd, buf, n);
    ::close(fd);
    ::rename(plan.exit_tmp, plan.exit_final);
  }
  ::_exit(0);
}

Error sys_error(std::string_view what, const std::string& path = {}) {
  return Error::internal(fmt::format("{}{}{}: {}", what, path.empty() ? "" : " ", path, std::strerror(errno)));
}

}  // namespace

Result<model::ProcessRef> spawn(const SpawnSpec& spec) {
  ChildPlan plan;
  plan.argv = c_strings(spec.argv);
  plan.envp = c_strings(spec.env);
  plan.program = spec.program.c_str();
  const std::string cwd = spec.cwd.string();
  const std::string exit_final = spec.exit_file.string();
  const std::string exit_tmp = exit_final + ".tmp";
  plan.cwd = cwd.c_str();
  const std::string resolv_conf = spec.resolv_conf.string();
  if (!resolv_conf.empty()) plan.resolv_conf = resolv_conf.c_str();
  const std::string hosts_file = spec.hosts_file.string();
  if (!hosts_file.empty()) plan.hosts_file = hosts_file.c_str();
  plan.exit_final = exit_final.c_str();
  plan.exit_tmp = exit_tmp.c_str();
  ::unlink(exit_final.c_str());

  plan.log_fd = ::open(spec.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (plan.log_fd < 0) {
    return sys_error("cannot open log file", spec.log_file.string());
  }
  plan.null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (!spec.netns.empty()) {
    plan.netns_fd = ::open(spec.netns.c_str(), O_RDONLY | O_CLOEXEC);
    if (plan.netns_fd < 0) {
      const auto err = sys_error("cannot open network namespace", spec.netns.string());
      for (int fd : {plan.log_fd, plan.null_fd}) if (fd >= 0) ::close(fd);
      return err;
    }
  }
  if (!spec.cgroup.empty()) {
    plan.cgroup_fd = ::open((spec.cgroup / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
  }
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    const auto err = sys_error("cannot create pipe");
    for (int fd : {plan.log_fd, plan.null_fd, plan.cgroup_fd, plan.netns_fd}) if (fd >= 0) ::close(fd);
    return err;
  }
  plan.report_fd = report[1];

  const pid_t shim = ::fork();
  if (shim == 0) {
    run_shim(plan);  // report[0] goes with the descriptors the shim lets go of
  }
  const int fork_errno = errno;
  for (int fd : {plan.log_fd, plan.null_fd, plan.cgroup_fd, plan.netns_fd, report[1]}) {
    if (fd >= 0) ::close(fd);
  }
  if (shim < 0) {
    ::close(report[0]);
    errno = fork_errno;
    return sys_error("cannot fork");
  }
  int workload = 0;
  ssize_t got = 0;
  do {
    got = ::read(report[0], &workload, sizeof workload);
  } while (got < 0 && errno == EINTR);
  ::close(report[0]);
  if (got != sizeof workload || workload <= 0) {
    errno = workload < 0 ? -workload : EIO;
    return sys_error("cannot start", spec.program);
  }
  model::ProcessRef ref;
  ref.pid = workload;
  ref.start_ticks = start_ticks(workload).value_or(0);
  ref.shim_pid = shim;
  ref.shim_start_ticks = start_ticks(shim).value_or(0);
  return ref;
}

std::optional<int> read_exit_status(const std::filesystem::path& exit_file) {
  auto text = read_file(exit_file);
  if (!text || text->empty()) {
    return std::nullopt;
  }
  try {
    return std::stoi(*text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<std::chrono::system_clock::time_point> exit_status_time(const std::filesystem::path& exit_file) {
  struct stat st{};
  if (::stat(exit_file.c_str(), &st) != 0) return std::nullopt;
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::seconds(st.st_mtim.tv_sec) +
                                                                      std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

Result<int> spawn_simple(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         const std::filesystem::path& cwd, const InstanceNamespaces& namespaces) {
  if (argv.empty()) {
    return Error::invalid("empty command");
  }
  auto args = c_strings(argv);
  auto envp = c_strings(env);
  const std::string dir = cwd.string();
  const auto& netns = namespaces.net;
  const auto& mntns = namespaces.mnt;
  const int netns_fd = netns.empty() ? -1 : ::open(netns.c_str(), O_RDONLY | O_CLOEXEC);
  if (!netns.empty() && netns_fd < 0) {
    return sys_error("cannot open network namespace", netns.string());
  }
  const int mntns_fd = mntns.empty() ? -1 : ::open(mntns.c_str(), O_RDONLY | O_CLOEXEC);
  if (!mntns.empty() && mntns_fd < 0) {
    const auto error = sys_error("cannot open mount namespace", mntns.string());
    if (netns_fd >= 0) ::close(netns_fd);
    return error;
  }
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    close_all_but(std::array{netns_fd, mntns_fd, null_fd});
    ::setpgid(0, 0);
    // A helper dies with prisnd (a crash included) instead of running on unwatched.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);  // prisnd went before the line above
    reset_signals_to_default();
    if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0) {
      ::_exit(126);
    }
    // Failing here means the instance could not make its own either (no CAP_SYS_ADMIN): it
    // shares the node's, as the helper then does.
    if (mntns_fd >= 0) (void)::setns(mntns_fd, CLONE_NEWNS);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(null_fd, STDOUT_FILENO);
    ::dup2(null_fd, STDERR_FILENO);
    if (!dir.empty() && ::chdir(dir.c_str()) != 0) {
      ::_exit(126);
    }
    close_from(3);
    ::execvpe(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(null_fd);
  if (netns_fd >= 0) ::close(netns_fd);
  if (mntns_fd >= 0) ::close(mntns_fd);
  if (pid < 0) {
    errno = fork_errno;
    return sys_error("cannot fork");
  }
  return static_cast<int>(pid);
}

}  // namespace prisn::process
