// SPDX-License-Identifier: MIT
#include "proxy/connection_steering.hpp"

#include <linux/filter.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <numeric>

namespace prisn::proxy::detail {

bool SteeringPolicy::spread(std::span<const double> loads) {
  if (loads.size() < 2) return spreading_ = false;
  if (!spreading_) {
    spreading_ = loads.front() >= kSpreadAt;
  } else {
    spreading_ = std::accumulate(loads.begin(), loads.end(), 0.0) >= kGatherBelow;
  }
  return spreading_;
}

Result<void> steer_reuseport_group(int fd, bool spread) {
  // The program's result is an index into the group's sockets; one past the last (any
  // index the group does not have) makes the kernel fall back to its hash.
  sock_filter code[] = {{BPF_RET | BPF_K, 0, 0, spread ? 0xffffffffu : 0u}};
  sock_fprog program{static_cast<unsigned short>(std::size(code)), code};
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &program, sizeof program) != 0) {
    return Error::unavailable(std::strerror(errno));
  }
  return {};
}

}  // namespace prisn::proxy::detail
