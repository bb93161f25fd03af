// SPDX-License-Identifier: MIT
#include "prisn/core/owner_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <utility>

namespace prisn {

Result<OwnerLock> OwnerLock::acquire(const std::filesystem::path& file, const std::string& what) {
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Error::unavailable(fmt::format("cannot open {}: {}", file.string(), std::strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {};
    const auto n = ::pread(fd, pid, sizeof pid - 1, 0);
    std::string owner = n > 0 ? std::string(pid, static_cast<std::size_t>(n)) : std::string("?");
    while (!owner.empty() && owner.back() == '\n') owner.pop_back();
    ::close(fd);
    return Error::conflict(fmt::format("{} is in use by another prisnd (pid {})", what, owner));
  }
  // The pid is for the message above only: the lock, not the file's content, is the truth.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    // Harmless: a second prisnd then names no pid.
  }
  return OwnerLock(fd);
}

OwnerLock& OwnerLock::operator=(OwnerLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

OwnerLock::~OwnerLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace prisn
