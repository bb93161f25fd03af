// SPDX-License-Identifier: MIT
#include "dns/reply_source.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

namespace prisn::dns::detail {
namespace {

// A one-datagram message to or from `peer`.
msghdr message(sockaddr_in& peer, iovec& iov) {
  msghdr m{};
  m.msg_name = &peer;
  m.msg_namelen = sizeof peer;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  return m;
}

// A datagram sent to 127.0.0.5 on a socket bound to 0.0.0.0 says so, and a reply set from
// what it says leaves from 127.0.0.5: the whole round trip through the kernel.
TEST(ReplySource, AWildcardSocketAnswersFromTheAddressAsked) {
  const int server = ::socket(AF_INET, SOCK_DGRAM, 0);
  const int client = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(server, 0);
  ASSERT_GE(client, 0);
  sockaddr_in any{};
  any.sin_family = AF_INET;
  ASSERT_EQ(::bind(server, reinterpret_cast<sockaddr*>(&any), sizeof any), 0);
  socklen_t len = sizeof any;
  ASSERT_EQ(::getsockname(server, reinterpret_cast<sockaddr*>(&any), &len), 0);
  ASSERT_TRUE(enable_destination_info(server, AF_INET));

  sockaddr_in asked = any;
  ::inet_pton(AF_INET, "127.0.0.5", &asked.sin_addr);
  ASSERT_EQ(::sendto(client, "q", 1, 0, reinterpret_cast<sockaddr*>(&asked), sizeof asked), 1);

  char byte = 0;
  iovec iov{&byte, 1};
  sockaddr_in peer{};
  ControlBuffer control;
  msghdr in = message(peer, iov);
  in.msg_control = control.data();
  in.msg_controllen = control.size();
  ASSERT_EQ(::recvmsg(server, &in, 0), 1);
  const auto local = destination_of(in);
  ASSERT_TRUE(local);
  EXPECT_EQ(local->family, AF_INET);
  EXPECT_EQ(local->v4.s_addr, asked.sin_addr.s_addr);

  ControlBuffer reply_control;
  msghdr out = message(peer, iov);
  set_reply_source(out, reply_control, *local);
  ASSERT_EQ(::sendmsg(server, &out, 0), 1);
  sockaddr_in from{};
  len = sizeof from;
  ASSERT_EQ(::recvfrom(client, &byte, 1, 0, reinterpret_cast<sockaddr*>(&from), &len), 1);
  EXPECT_EQ(from.sin_addr.s_addr, asked.sin_addr.s_addr);
  ::close(server);
  ::close(client);
}

TEST(ReplySource, NoControlMessageNoDestination) {
  msghdr empty{};
  EXPECT_FALSE(destination_of(empty));
}

}  // namespace
}  // namespace prisn::dns::detail
