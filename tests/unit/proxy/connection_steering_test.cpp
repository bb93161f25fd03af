// SPDX-License-Identifier: MIT
#include "proxy/connection_steering.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <vector>

namespace prisn::proxy::detail {
namespace {

TEST(SteeringPolicy, GathersUntilTheFirstWorkerIsBusy) {
  SteeringPolicy p;
  EXPECT_FALSE(p.spread(std::array{0.10, 0.0}));
  EXPECT_FALSE(p.spread(std::array{0.74, 0.30}));  // the second worker's load alone does not spread
  EXPECT_TRUE(p.spread(std::array{0.80, 0.0}));
  EXPECT_TRUE(p.spreading());
}

TEST(SteeringPolicy, GathersAgainOnlyWhenAllTogetherAreLight) {
  SteeringPolicy p;
  ASSERT_TRUE(p.spread(std::array{0.9, 0.2}));
  EXPECT_TRUE(p.spread(std::array{0.40, 0.40}));  // each under kSpreadAt, together above kGatherBelow
  EXPECT_TRUE(p.spread(std::array{0.30, 0.26}));
  EXPECT_FALSE(p.spread(std::array{0.30, 0.20}));
  EXPECT_FALSE(p.spreading());
}

TEST(SteeringPolicy, OneWorkerNeverSpreads) {
  SteeringPolicy p;
  EXPECT_FALSE(p.spread(std::array{1.0}));
  EXPECT_FALSE(p.spread(std::span<const double>()));
}

// A reuseport group of two listening sockets on one loopback port, the first one first.
class ReuseportGroup : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      ASSERT_GE(fd, 0);
      const int on = 1;
      ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on), 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = port_;
      ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
      ASSERT_EQ(::listen(fd, 128), 0);
      socklen_t len = sizeof addr;
      ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
      port_ = addr.sin_port;
      listeners_.push_back(fd);
    }
  }
  void TearDown() override {
    for (int fd : listeners_) ::close(fd);
  }

  // Opens `n` connections and returns how many each listener accepted.
  std::array<int, 2> connect_and_count(int n) {
    std::array<int, 2> accepted{};
    for (int i = 0; i < n; ++i) {
      const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = port_;
      EXPECT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
      for (int l = 0; l < 2; ++l) {
        const int a = ::accept4(listeners_[l], nullptr, nullptr, SOCK_CLOEXEC);
        if (a >= 0) {
          ++accepted[l];
          ::close(a);
        }
      }
      ::close(c);
    }
    return accepted;
  }

  std::vector<int> listeners_;
  in_port_t port_ = 0;
};

TEST_F(ReuseportGroup, GatheredConnectionsAllGoToTheFirstListener) {
  ASSERT_TRUE(steer_reuseport_group(listeners_[0], false));
  EXPECT_EQ(connect_and_count(40), (std::array<int, 2>{40, 0}));
}

TEST_F(ReuseportGroup, SpreadConnectionsReachEveryListener) {
  ASSERT_TRUE(steer_reuseport_group(listeners_[0], false));
  ASSERT_TRUE(steer_reuseport_group(listeners_[0], true));
  const auto accepted = connect_and_count(40);  // by hash of the source port: all on one is 2^-39
  EXPECT_EQ(accepted[0] + accepted[1], 40);
  EXPECT_GT(accepted[0], 0);
  EXPECT_GT(accepted[1], 0);
}

TEST(SteerReuseportGroup, NotASocketIsAnError) {
  EXPECT_FALSE(steer_reuseport_group(-1, false));
}

}  // namespace
}  // namespace prisn::proxy::detail
