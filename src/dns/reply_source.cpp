// SPDX-License-Identifier: MIT
#include "dns/reply_source.hpp"

#include <cstring>

namespace prisn::dns::detail {

bool enable_destination_info(int fd, int family) {
  const int on = 1;
  if (family == AF_INET6) return ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) == 0;
  return ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) == 0;
}

std::optional<LocalAddress> destination_of(const msghdr& received) {
  // CMSG_NXTHDR takes a non-const header; it only reads it.
  auto& msg = const_cast<msghdr&>(received);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    LocalAddress local;
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      local.family = AF_INET;
      local.v4 = info.ipi_addr;
      local.ifindex = static_cast<unsigned>(info.ipi_ifindex);
      return local;
    }
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof info);
      local.family = AF_INET6;
      local.v6 = info.ipi6_addr;
      local.ifindex = info.ipi6_ifindex;
      return local;
    }
  }
  return std::nullopt;
}

void set_reply_source(msghdr& reply, ControlBuffer& buffer, const LocalAddress& local) {
  std::memset(buffer.data(), 0, buffer.size());
  reply.msg_control = buffer.data();
  cmsghdr* c = reinterpret_cast<cmsghdr*>(buffer.data());
  if (local.family == AF_INET) {
    // The source address only; ifindex 0 leaves the way out to the routing table.
    in_pktinfo info{};
    info.ipi_spec_dst = local.v4;
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof info);
    std::memcpy(CMSG_DATA(c), &info, sizeof info);
    reply.msg_controllen = CMSG_SPACE(sizeof info);
    return;
  }
  // A link-local address means something only on its own interface; any other address is
  // routed (an IPv4-mapped one goes out as IPv4 from that address).
  in6_pktinfo info{};
  info.ipi6_addr = local.v6;
  info.ipi6_ifindex = IN6_IS_ADDR_LINKLOCAL(&local.v6) ? local.ifindex : 0;
  c->cmsg_level = IPPROTO_IPV6;
  c->cmsg_type = IPV6_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof info);
  std::memcpy(CMSG_DATA(c), &info, sizeof info);
  reply.msg_controllen = CMSG_SPACE(sizeof info);
}

}  // namespace prisn::dns::detail
