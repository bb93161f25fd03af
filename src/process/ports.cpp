// SPDX-License-Identifier: MIT
#include "prisn/process/ports.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "prisn/core/random.hpp"

namespace prisn::process {
namespace {

// A TCP socket bound to host:port (an IPv4 or IPv6 address), or -1.
int bound_socket(const std::string& host, std::uint16_t port) {
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&storage); ::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length = sizeof(sockaddr_in);
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage); ::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    length = sizeof(sockaddr_in6);
  } else {
    return -1;
  }
  const int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Bindable on 0.0.0.0, and on [::] unless this node has no IPv6: a workload may listen on either.
bool free_for_listening(std::uint16_t port) {
  if (!can_bind("0.0.0.0", port)) {
    return false;
  }
  const int fd = bound_socket("::", port);
  if (fd < 0) {
    return errno != EADDRINUSE;
  }
  const bool ok = ::listen(fd, 1) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

Result<std::uint16_t> pick_free_port(const std::set<std::uint16_t>& taken, PortRange range) {
  const std::uint32_t size = range.last >= range.first ? range.last - range.first + 1U : 0U;
  std::uint32_t offset = 0;
  random_bytes(&offset, sizeof offset);
  if (size != 0) offset %= size;  // so that offset + step never wraps
  for (std::uint32_t step = 0; step < size; ++step) {
    const auto port = static_cast<std::uint16_t>(range.first + (offset + step) % size);
    if (!taken.contains(port) && free_for_listening(port)) {
      return port;
    }
  }
  return Error::internal(fmt::format("no free port left in {}-{} for instances", range.first, range.last));
}

bool can_bind(const std::string& host, std::uint16_t port) {
  const int fd = bound_socket(host, port);
  if (fd < 0) {
    return false;
  }
  const bool ok = ::listen(fd, 1) == 0;
  ::close(fd);
  return ok;
}

}  // namespace prisn::process
