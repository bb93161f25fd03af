// SPDX-License-Identifier: MIT
#include "prisn/network/namespace_updater.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "prisn/core/log.hpp"
#include "prisn/network/command.hpp"

namespace prisn::network {
namespace {

auto& log() {
  static auto l = logger("network");
  return l;
}

}  // namespace

Result<void> apply_in_namespace(const NamespaceRuleset& update) {
  // On a thread of its own: setns(2) moves only the calling thread, and what that thread
  // spawns (nft) starts in the namespace too.
  Result<void> result;
  std::thread([&] {
    const int fd = ::open(update.netns.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
      result = Error::internal(fmt::format("cannot enter {}: {}", update.netns.string(), std::strerror(errno)));
    } else if (auto set = write_sysctl("/proc/sys/net/ipv4/conf/eth0/route_localnet", "1"); !set) {
      result = set.error();
    } else {
      result = run_nft(update.ruleset);
    }
    if (fd >= 0) ::close(fd);
  }).join();
  return result;
}

NamespaceUpdater::NamespaceUpdater(Apply apply)
    : apply_(std::move(apply)), thread_([this](std::stop_token stop) { run(stop); }) {}

NamespaceUpdater::~NamespaceUpdater() {
  thread_.request_stop();
  // jthread joins here, before the members it uses go.
}

void NamespaceUpdater::submit(std::vector<NamespaceRuleset> batch) {
  {
    std::lock_guard lock(mutex_);
    pending_ = std::move(batch);
  }
  wake_.notify_one();
}

void NamespaceUpdater::run(std::stop_token stop) {
  std::vector<NamespaceRuleset> batch;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      if (!wake_.wait(lock, stop, [this] { return pending_.has_value(); })) return;
      batch = std::move(*pending_);
      pending_.reset();
    }
    for (const auto& update : batch) {
      if (stop.stop_requested()) return;
      {
        std::lock_guard lock(mutex_);
        if (pending_) break;  // a newer batch names every namespace again
      }
      // A namespace may go (its instance stopped) after the batch was made: not an error.
      if (auto applied = apply_(update); !applied && std::filesystem::exists(update.netns)) {
        log()->warn("{}: localhost may not reach the node's published ports: {}", update.netns.string(),
                    applied.error().message);
      }
    }
  }
}

}  // namespace prisn::network
