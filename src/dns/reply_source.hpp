// SPDX-License-Identifier: MIT
// A UDP socket bound to a wildcard address (0.0.0.0, ::) must answer each query from the
// address the query was sent to: a reply from another of the node's addresses is dropped by
// the client as an answer from a stranger. The kernel says where each datagram went
// (IP_PKTINFO, IPV6_PKTINFO) and takes the reply's source the same way. Written by hand:
// Boost.Asio exposes no control messages.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <optional>

namespace prisn::dns::detail {

/// Where one datagram was sent: the node's address it came in on.
struct LocalAddress {
  sa_family_t family = AF_UNSPEC;  // AF_INET, or AF_INET6 (also for IPv4 on a dual-stack socket)
  in_addr v4{};
  in6_addr v6{};
  unsigned ifindex = 0;
};

/// Room for one IP_PKTINFO or IPV6_PKTINFO control message.
using ControlBuffer = std::array<std::byte, CMSG_SPACE(sizeof(in6_pktinfo))>;

/// Asks the kernel to tell each datagram's destination on `fd`, a socket of `family`.
bool enable_destination_info(int fd, int family);

/// The destination of a received datagram, when its control messages say it.
std::optional<LocalAddress> destination_of(const msghdr& received);

/// Points `reply`'s control data at `buffer`, filled so that the reply leaves from `local`.
void set_reply_source(msghdr& reply, ControlBuffer& buffer, const LocalAddress& local);

}  // namespace prisn::dns::detail
