// SPDX-License-Identifier: MIT
// What the router tests share: descriptors, loopback addresses, a connected client socket,
// and a route from host t.test to one instance.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "prisn/proxy/http_router.hpp"
#include "prisn/proxy/tls_store.hpp"

namespace prisn::proxy::test_support {

/// A descriptor, closed at the end of its scope.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

inline sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/// A blocking socket connected to 127.0.0.1:`port` whose reads give up after 5 s (no test
/// waits longer for the router); `receive_buffer` > 0 sets SO_RCVBUF before connecting.
inline Fd connect_to(std::uint16_t port, int receive_buffer = 0) {
  Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
  const timeval wait{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  if (receive_buffer > 0) ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  auto a = loopback(port);
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

/// The port in the HOST:PORT that HttpRouter::listen() returns.
inline std::uint16_t port_of(const std::string& bound) {
  return static_cast<std::uint16_t>(std::stoi(bound.substr(bound.rfind(':') + 1)));
}

/// Routes host t.test to one instance listening on `instance_port`.
inline void route_to(HttpRouter& router, std::uint16_t instance_port) {
  auto target = std::make_shared<L7Target>();
  target->ns = "default";
  target->deployment = "t";
  target->label = "t.default";
  target->balancer = std::make_shared<Balancer>(BalanceOptions{});
  target->stats = std::make_shared<RouteStats>();
  target->backends.push_back({"t-0", "127.0.0.1", instance_port, std::make_shared<std::atomic<int>>(0),
                              "127.0.0.1:" + std::to_string(instance_port)});
  auto snapshot = std::make_shared<L7Snapshot>();
  snapshot->routes.add("t.test", "/", target);
  router.publish(snapshot);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the workers take it on their own threads
}

/// A router listening on a free loopback port, stopped at the end of the test.
class RouterTest : public ::testing::Test {
 protected:
  /// Starts the router; with `tls`, its listener terminates TLS.
  void start(const HttpRouterOptions& options, std::shared_ptr<TlsStore> tls = nullptr) {
    ::signal(SIGPIPE, SIG_IGN);  // as prisnd's main does: OpenSSL writes with write(), not send(MSG_NOSIGNAL)
    router_ = std::make_unique<HttpRouter>(options);
    auto bound = router_->listen("127.0.0.1", 0, std::move(tls));
    ASSERT_TRUE(bound) << bound.error().message;
    port_ = port_of(*bound);
    router_->start();
  }
  void TearDown() override {
    if (router_) router_->stop(std::chrono::milliseconds(0));
  }
  void route_to(std::uint16_t instance_port) { test_support::route_to(*router_, instance_port); }

  std::unique_ptr<HttpRouter> router_;
  std::uint16_t port_ = 0;
};

}  // namespace prisn::proxy::test_support
