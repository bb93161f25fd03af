// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>

#include "prisn/core/error.hpp"

namespace prisn {

/// An exclusive flock(2) on a file that names its holder's pid: what makes one prisnd at a
/// time own a data directory or the bridge. The kernel releases it however the process ends
/// (kill -9 included), so a stale file never blocks the next prisnd.
class OwnerLock {
 public:
  /// Takes the lock on `file` (created if missing); a conflict error names `what` and the pid
  /// of the process holding it.
  static Result<OwnerLock> acquire(const std::filesystem::path& file, const std::string& what);

  OwnerLock() = default;
  OwnerLock(OwnerLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  OwnerLock& operator=(OwnerLock&& other) noexcept;
  OwnerLock(const OwnerLock&) = delete;
  OwnerLock& operator=(const OwnerLock&) = delete;
  ~OwnerLock();

 private:
  explicit OwnerLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace prisn
