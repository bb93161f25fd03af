// SPDX-License-Identifier: MIT
// The L4 proxy's choice of instance when one cannot be reached (SPEC §7.4: a connect failure
// retries the next instance before the client sees an error).
#include "prisn/proxy/l4_proxy.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "loopback.hpp"

namespace prisn::proxy {
namespace {
using test_support::connect_to;
using test_support::Fd;
using test_support::loopback;

// A listening socket on a free loopback port, with the given accept backlog.
Fd listening(int backlog, std::uint16_t& port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
  auto a = loopback(0);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::listen(fd.get(), backlog), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

// A free port that nothing listens on: connecting to it is refused.
std::uint16_t refusing_port() {
  std::uint16_t port = 0;
  listening(1, port);  // closed again at once
  return port;
}

Backend backend(const std::string& id, std::uint16_t port) {
  return {id, "127.0.0.1", port, std::make_shared<std::atomic<int>>(0)};
}

// Publishes `backends` for listener "svc" and returns the port it listens on.
std::uint16_t serve(L4Proxy& proxy, std::vector<Backend> backends) {
  auto snapshot = std::make_shared<L4Snapshot>();
  snapshot->routes["svc"] = std::move(backends);
  proxy.publish(snapshot);
  auto port = proxy.open("svc", "127.0.0.1", 0);
  EXPECT_TRUE(port.has_value());
  return port ? *port : 0;
}

// Accepts one connection on `fd` within 10 s: whether the proxy reached this backend.
bool accepts_one(const Fd& fd) {
  const timeval wait{10, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  Fd accepted(::accept(fd.get(), nullptr, nullptr));
  return accepted.get() >= 0;
}

TEST(L4Proxy, ARefusedInstanceIsSkippedForTheNext) {
  L4Proxy proxy(1);
  std::uint16_t live_port = 0;
  Fd live = listening(16, live_port);
  const auto port = serve(proxy, {backend("dead", refusing_port()), backend("live", live_port)});
  Fd client = connect_to(port);
  EXPECT_TRUE(accepts_one(live));
  EXPECT_EQ(proxy.stats().at("svc")->failed.load(), 0u);
}

TEST(L4Proxy, AClosedListenersStatsLeave) {
  L4Proxy proxy(1);
  std::uint16_t live_port = 0;
  Fd live = listening(16, live_port);
  serve(proxy, {backend("live", live_port)});
  EXPECT_TRUE(proxy.stats().contains("svc"));
  proxy.close("svc");
  EXPECT_FALSE(proxy.stats().contains("svc"));  // its series leave /metrics with it
}

TEST(L4Proxy, AnInstanceThatDropsConnectionAttemptsIsGivenUpOnWithinSeconds) {
  L4Proxy proxy(1);
  // Its accept queue holds one connection, taken by `filler`: the kernel drops further SYNs,
  // as it would for an instance gone from the network.
  std::uint16_t silent_port = 0;
  Fd silent = listening(0, silent_port);
  Fd filler = connect_to(silent_port);
  std::uint16_t live_port = 0;
  Fd live = listening(16, live_port);
  const auto port = serve(proxy, {backend("silent", silent_port), backend("live", live_port)});
  const auto started = std::chrono::steady_clock::now();
  Fd client = connect_to(port);
  EXPECT_TRUE(accepts_one(live));
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, std::chrono::milliseconds(2500));  // it did wait for the silent one
  EXPECT_LT(waited, std::chrono::seconds(8));          // and not for the kernel's two minutes
}

}  // namespace
}  // namespace prisn::proxy
