// SPDX-License-Identifier: MIT
#include "prisn/network/command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>

extern char** environ;

namespace prisn::network {
namespace {

struct Pipe {
  int read = -1;
  int write = -1;
  ~Pipe() {
    for (int fd : {read, write}) if (fd >= 0) ::close(fd);
  }
  bool open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    read = fds[0];
    write = fds[1];
    return true;
  }
  static void close(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

std::string last_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.size() > 300) text = "…" + text.substr(text.size() - 300);
  for (auto& c : text) if (c == '\n') c = ' ';
  return text;
}

// Feeds stdin and drains stdout and stderr until both are closed or the deadline passes.
bool exchange(Pipe& in, Pipe& out, Pipe& err, std::string_view input, std::string& stdout_text,
              std::string& stderr_text, std::chrono::steady_clock::time_point deadline) {
  if (input.empty()) Pipe::close(in.write);
  while (out.read >= 0 || err.read >= 0) {
    std::array<pollfd, 3> fds{};
    nfds_t n = 0;
    for (int fd : {out.read, err.read}) if (fd >= 0) fds[n++] = {fd, POLLIN, 0};
    if (in.write >= 0) fds[n++] = {in.write, POLLOUT, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (::poll(fds.data(), n, static_cast<int>(left.count())) < 0 && errno != EINTR) return false;
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in.write) {
        // EPIPE when the program exits without reading it all (prisnd ignores SIGPIPE).
        const ssize_t w = ::write(in.write, input.data(), input.size());
        if (w > 0) input.remove_prefix(static_cast<std::size_t>(w));
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || input.empty()) Pipe::close(in.write);
        continue;
      }
      char buf[4096];
      const ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
      std::string& sink = fds[i].fd == out.read ? stdout_text : stderr_text;
      if (r > 0) {
        sink.append(buf, static_cast<std::size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        Pipe::close(fds[i].fd == out.read ? out.read : err.read);
      }
    }
  }
  return true;
}

}  // namespace

Result<std::string> run_command(const std::vector<std::string>& argv, std::string_view input,
                                std::chrono::milliseconds timeout) {
  const std::string shown = fmt::format("{}", fmt::join(argv, " "));
  Pipe in, out, err;
  if (argv.empty() || !in.open() || !out.open() || !err.open()) {
    return Error::internal(fmt::format("cannot run '{}': {}", shown, std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.read, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.write, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write, STDERR_FILENO);
  // prisnd's sockets are not close-on-exec (Asio opens them without it): the command gets none.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    return Error::internal(fmt::format("cannot run '{}': {}", argv[0], std::strerror(spawned)));
  }
  Pipe::close(in.read);
  ::fcntl(in.write, F_SETFL, O_NONBLOCK);  // write only what fits, then poll again
  Pipe::close(out.write);
  Pipe::close(err.write);
  std::string stdout_text, stderr_text;
  const bool finished = exchange(in, out, err, input, stdout_text, stderr_text,
                                 std::chrono::steady_clock::now() + timeout);
  if (!finished) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!finished) {
    return Error::internal(fmt::format("'{}' did not finish within {} ms", shown, timeout.count()));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string why = WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                                              : fmt::format("signal {}", WTERMSIG(status));
    const std::string said = last_line(stderr_text);
    return Error::internal(fmt::format("'{}' failed ({}){}{}", shown, why, said.empty() ? "" : ": ", said));
  }
  return stdout_text;
}

Result<void> run_nft(const std::string& ruleset) {
  if (auto ran = run_command({"nft", "-f", "-"}, ruleset); !ran) return ran.error();
  return {};
}

Result<void> write_sysctl(const std::filesystem::path& file, const char* value) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
  const bool ok = fd >= 0 && ::write(fd, value, std::strlen(value)) == static_cast<ssize_t>(std::strlen(value));
  const int saved = errno;
  if (fd >= 0) ::close(fd);
  if (!ok) return Error::internal(fmt::format("cannot set {}: {}", file.string(), std::strerror(saved)));
  return {};
}

}  // namespace prisn::network
