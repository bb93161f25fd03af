// SPDX-License-Identifier: MIT
#include "prisn/process/proc.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <fmt/format.h>

#include "prisn/process/interpreter.hpp"
#include "prisn/process/ports.hpp"
#include "support/temp_dir.hpp"

namespace prisn::process {
namespace {

TEST(Proc, StartTicksIdentifyAProcess) {
  const auto ticks = start_ticks(::getpid());
  ASSERT_TRUE(ticks);
  EXPECT_TRUE(is_same_process(::getpid(), *ticks));
  EXPECT_FALSE(is_same_process(::getpid(), *ticks + 1));
  EXPECT_FALSE(start_ticks(0));
  EXPECT_FALSE(is_same_process(999999999, 1));
}

TEST(Proc, ZombiesAreNotAlive) {
  const pid_t child = ::fork();
  if (child == 0) {
    ::_exit(0);
  }
  const auto ticks = start_ticks(child);
  for (int i = 0; i < 100 && is_same_process(child, ticks.value_or(0)); ++i) ::usleep(10'000);
  EXPECT_FALSE(is_same_process(child, ticks.value_or(0)));
  ::waitpid(child, nullptr, 0);
}

TEST(Proc, DescribesWaitStatuses) {
  EXPECT_EQ(describe_wait_status(3 << 8), "exit code 3");
  EXPECT_EQ(describe_wait_status(SIGKILL), "killed by signal 9 (SIGKILL)");
  EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
}

TEST(Interpreter, PrefersAnInstalledInterpreterToAVersionManagersShim) {
  test::TempDir dir;
  for (const char* d : {"shims", "bin"}) {
    std::filesystem::create_directories(dir / d);
    std::ofstream(dir / d / "python3") << "#!/bin/sh\n";
    std::filesystem::permissions(dir / d / "python3", std::filesystem::perms::owner_all);
  }
  const std::string path = (dir / "shims").string() + ":" + (dir / "bin").string();
  EXPECT_EQ(find_interpreter("python3", path), (dir / "bin" / "python3").string());
  EXPECT_FALSE(find_interpreter("ruby", (dir / "bin").string()));
  // Installed only as a shim: the shim, rather than "not found".
  std::ofstream(dir / "shims" / "ruby") << "#!/bin/sh\n";
  std::filesystem::permissions(dir / "shims" / "ruby", std::filesystem::perms::owner_all);
  EXPECT_EQ(find_interpreter("ruby", path), (dir / "shims" / "ruby").string());
}

TEST(Interpreter, TheVersionTheShebangNamesWhenInstalledElseTheRuntimes) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "bin");
  for (const char* name : {"python3", "python3.13"}) {
    std::ofstream(dir / "bin" / name) << "#!/bin/sh\n";
    std::filesystem::permissions(dir / "bin" / name, std::filesystem::perms::owner_all);
  }
  const std::string path = (dir / "bin").string();
  EXPECT_EQ(find_interpreter("python3", path, "#!/usr/bin/env python3.13\n"), (dir / "bin" / "python3.13").string());
  EXPECT_EQ(find_interpreter("python3", path, "#!/usr/bin/env python3.99\n"), (dir / "bin" / "python3").string());
}

TEST(Ports, FreePortsAreBindableAndAvoidTaken) {
  auto p = pick_free_port({});
  ASSERT_TRUE(p);
  EXPECT_TRUE(can_bind("127.0.0.1", *p));
  auto q = pick_free_port({*p});
  ASSERT_TRUE(q);
  EXPECT_NE(*p, *q);
}

// A port the kernel hands out for "any port" would be free to every other program as well.
TEST(Ports, InstancePortsComeFromBelowTheKernelsEphemeralRange) {
  std::ifstream range_file("/proc/sys/net/ipv4/ip_local_port_range");
  int ephemeral_first = 0;
  range_file >> ephemeral_first;
  for (int i = 0; i < 20; ++i) {
    auto p = pick_free_port({});
    ASSERT_TRUE(p);
    EXPECT_GE(*p, kInstancePorts.first);
    EXPECT_LE(*p, kInstancePorts.last);
    if (ephemeral_first > kInstancePorts.last) {  // a kernel set to hand out lower ports overlaps any range
      EXPECT_LT(*p, ephemeral_first);
    }
  }
}

// A listening socket on 127.0.0.1 and a port the kernel chose; -1 if none could be made.
int listening_socket(std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 1) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return -1;
  }
  port = ntohs(addr.sin_port);
  return fd;
}

TEST(Ports, APortSomeoneListensOnIsNeverPickedAndAFullRangeIsAnError) {
  std::uint16_t held = 0;
  const int fd = listening_socket(held);
  ASSERT_GE(fd, 0);
  const auto only_held = pick_free_port({}, PortRange{held, held});
  ASSERT_FALSE(only_held);
  EXPECT_NE(only_held.error().message.find(fmt::format("no free port left in {}-{}", held, held)), std::string::npos);
  const auto next = static_cast<std::uint16_t>(held + 1);
  if (!can_bind("0.0.0.0", next)) {
    ::close(fd);
    GTEST_SKIP() << "port " << next << " is in use";
  }
  for (int i = 0; i < 20; ++i) {
    const auto picked = pick_free_port({}, PortRange{held, next});
    ASSERT_TRUE(picked);
    EXPECT_EQ(*picked, next);
  }
  EXPECT_FALSE(pick_free_port({next}, PortRange{held, next}));
  ::close(fd);
}

TEST(Ports, BindabilityIsCheckedOnIpv6AddressesToo) {
  auto p = pick_free_port({});
  ASSERT_TRUE(p);
  EXPECT_TRUE(can_bind("::1", *p));
  EXPECT_TRUE(can_bind("::", *p));
  EXPECT_FALSE(can_bind("not-an-address", *p));
  const int held = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_port = htons(*p);
  addr.sin6_addr = in6addr_loopback;
  ASSERT_EQ(::bind(held, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(held, 1), 0);
  EXPECT_FALSE(can_bind("::1", *p));
  ::close(held);
}

}  // namespace
}  // namespace prisn::process
