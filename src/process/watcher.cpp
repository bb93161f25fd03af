// SPDX-License-Identifier: MIT
#include "prisn/process/watcher.hpp"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>

#include "prisn/core/log.hpp"
#include "prisn/process/proc.hpp"

namespace prisn::process {
namespace asio = boost::asio;

struct ProcessWatcher::Impl {
  explicit Impl(asio::any_io_executor ex) : executor(ex), sigchld(ex, SIGCHLD), poll_timer(ex) {}

  struct Adopted {
    std::unique_ptr<asio::posix::stream_descriptor> pidfd;  // null: polled
    std::uint64_t start_ticks = 0;
    ExitCallback cb;
  };

  asio::any_io_executor executor;
  asio::signal_set sigchld;
  asio::steady_timer poll_timer;
  bool polling = false;
  std::map<int, ExitCallback> children;
  std::map<int, Adopted> adopted;
  std::shared_ptr<spdlog::logger> log = logger("process");

  void wait_sigchld() {
    sigchld.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) {
        return;
      }
      reap();
      wait_sigchld();
    });
  }

  void reap() {
    for (;;) {
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid <= 0) {
        return;
      }
      auto it = children.find(pid);
      if (it == children.end()) {
        continue;  // an orphaned descendant re-parented to us: reaped, nothing else to do
      }
      auto cb = std::move(it->second);
      children.erase(it);
      cb(status);
    }
  }

  void on_adopted_exit(int pid) {
    auto it = adopted.find(pid);
    if (it == adopted.end()) {
      return;
    }
    auto cb = std::move(it->second.cb);
    adopted.erase(it);
    cb(std::nullopt);
  }

  void poll_adopted() {
    if (polling) {
      return;
    }
    polling = true;
    poll_timer.expires_after(std::chrono::seconds(1));
    poll_timer.async_wait([this](const boost::system::error_code& ec) {
      polling = false;
      if (ec) {
        return;
      }
      std::vector<int> gone;
      bool any_polled = false;
      for (auto& [pid, a] : adopted) {
        if (!a.pidfd) {
          any_polled = true;
          if (!is_same_process(pid, a.start_ticks)) gone.push_back(pid);
        }
      }
      for (int pid : gone) on_adopted_exit(pid);
      if (any_polled) poll_adopted();
    });
  }
};

ProcessWatcher::ProcessWatcher(asio::any_io_executor executor)
    : impl_(std::make_unique<Impl>(executor)) {}

ProcessWatcher::~ProcessWatcher() = default;

void ProcessWatcher::start() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    impl_->log->warn("cannot become a child subreaper; orphaned workload processes are reaped by init");
  }
  impl_->wait_sigchld();
  impl_->reap();  // anything that ended before we listened
}

void ProcessWatcher::watch_child(int pid, ExitCallback cb) { impl_->children[pid] = std::move(cb); }

bool ProcessWatcher::watch_adopted(int pid, std::uint64_t start_ticks, ExitCallback cb) {
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  // Checked after opening: the pidfd pins the process, so a pid reused in between is caught.
  if (!is_same_process(pid, start_ticks)) {
    if (fd >= 0) ::close(fd);
    return false;
  }
  Impl::Adopted entry;
  entry.start_ticks = start_ticks;
  entry.cb = std::move(cb);
  if (fd >= 0) {
    entry.pidfd = std::make_unique<asio::posix::stream_descriptor>(impl_->executor, fd);
    entry.pidfd->async_wait(asio::posix::stream_descriptor::wait_read,
                            [impl = impl_.get(), pid](const boost::system::error_code& ec) {
                              if (!ec) impl->on_adopted_exit(pid);
                            });
    impl_->adopted[pid] = std::move(entry);
  } else {
    impl_->adopted[pid] = std::move(entry);
    impl_->poll_adopted();
  }
  return true;
}

void ProcessWatcher::forget(int pid) {
  impl_->children.erase(pid);
  impl_->adopted.erase(pid);  // closes the pidfd, cancelling its wait
}

}  // namespace prisn::process
