// SPDX-License-Identifier: MIT
#include "health/probes.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "prisn/health/checker.hpp"
#include "prisn/process/watcher.hpp"

namespace prisn::health {
namespace {
namespace asio = boost::asio;
using asio::ip::tcp;

TEST(Probes, ParsesStatusLines) {
  EXPECT_EQ(parse_status_line("HTTP/1.1 200 OK"), 200);
  EXPECT_EQ(parse_status_line("HTTP/1.0 503 Service Unavailable"), 503);
  EXPECT_EQ(parse_status_line("HTTP/1.1 204"), 204);
  for (const char* bad : {"", "HTTP/2 200", "HTTP/1.1 2x0 OK", "SSH-2.0-OpenSSH", "HTTP/1.1", "HTTP/1.1 2000 OK"}) {
    EXPECT_EQ(parse_status_line(bad), 0) << bad;
  }
}

// A one-shot server answering `answer` to whatever it receives, then closing.
std::uint16_t answer_once(tcp::acceptor& acceptor, std::string answer) {
  acceptor.open(tcp::v4());
  acceptor.bind({asio::ip::make_address("127.0.0.1"), 0});
  acceptor.listen();
  acceptor.async_accept([answer = std::move(answer)](boost::system::error_code ec, tcp::socket s) {
    if (ec) return;
    auto sock = std::make_shared<tcp::socket>(std::move(s));
    auto buf = std::make_shared<std::array<char, 1024>>();
    sock->async_read_some(asio::buffer(*buf), [sock, buf, answer](boost::system::error_code, std::size_t) {
      auto reply = std::make_shared<std::string>(answer);
      asio::async_write(*sock, asio::buffer(*reply), [sock, reply](boost::system::error_code, std::size_t) {
        boost::system::error_code ignored;
        sock->shutdown(tcp::socket::shutdown_send, ignored);
      });
    });
  });
  return acceptor.local_endpoint().port();
}

// A one-shot HTTP server answering `status` to whatever it receives.
std::uint16_t serve_once(asio::io_context&, tcp::acceptor& acceptor, int status) {
  return answer_once(acceptor, "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\n\r\n");
}

template <class Awaitable>
ProbeResult outcome(asio::io_context& io, Awaitable a) {
  auto f = asio::co_spawn(io, std::move(a), asio::use_future);
  for (int i = 0; i < 500 && f.wait_for(std::chrono::seconds(0)) != std::future_status::ready; ++i) {
    io.run_for(std::chrono::milliseconds(10));
    io.restart();
  }
  return f.get();
}

template <class Awaitable>
bool run(asio::io_context& io, Awaitable a) {
  return outcome(io, std::move(a)).passed;
}

// A naive service writes a greeting to every connection it accepts, after the probe has
// gone: a probe that closed with a reset would make that write fail (and such scripts die).
TEST(Probes, TcpProbeClosesGentlyEnoughForAServiceThatWritesOnAccept) {
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(run(io, tcp_probe("127.0.0.1", port, std::chrono::milliseconds(1000))));
    tcp::socket accepted = acceptor.accept();
    boost::system::error_code ec;
    asio::write(accepted, asio::buffer("HTTP/1.0 200 OK\r\n\r\nhello\n", 25), ec);
    EXPECT_FALSE(ec) << "greeting " << i << ": " << ec.message();
  }
}

TEST(Probes, TcpPassesOnAListenerAndFailsOnAClosedPort) {
  asio::io_context io;
  tcp::acceptor acceptor(io);
  const auto port = serve_once(io, acceptor, 200);
  EXPECT_TRUE(run(io, tcp_probe("127.0.0.1", port, std::chrono::milliseconds(500))));
  acceptor.close();
  const auto closed = outcome(io, tcp_probe("127.0.0.1", port, std::chrono::milliseconds(500)));
  EXPECT_FALSE(closed.passed);
  EXPECT_EQ(closed.failure, "cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST(Probes, HttpChecksTheStatus) {
  for (auto [status, expected, pass] : {std::tuple{200, 0, true}, std::tuple{204, 0, true}, std::tuple{500, 0, false},
                                        std::tuple{418, 418, true}, std::tuple{200, 418, false}}) {
    asio::io_context io;
    tcp::acceptor acceptor(io);
    const auto port = serve_once(io, acceptor, status);
    EXPECT_EQ(run(io, http_probe("127.0.0.1", port, "/health", expected, std::chrono::milliseconds(1000))), pass)
        << status << " expected " << expected;
  }
  asio::io_context io;
  tcp::acceptor acceptor(io);
  const auto port = serve_once(io, acceptor, 500);
  EXPECT_EQ(outcome(io, http_probe("127.0.0.1", port, "/health", 0, std::chrono::milliseconds(1000))).failure,
            "GET /health: status 500, expected 2xx");
}

TEST(Probes, HttpSkipsInterimAnswersAndTakesBareLineFeeds) {
  const auto check = [](std::string answer) {
    asio::io_context io;
    tcp::acceptor acceptor(io);
    const auto port = answer_once(acceptor, std::move(answer));
    return outcome(io, http_probe("127.0.0.1", port, "/health", 0, std::chrono::milliseconds(1000)));
  };
  EXPECT_EQ(check("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 500 X\r\nContent-Length: 0\r\n\r\n").failure,
            "GET /health: status 500, expected 2xx");
  EXPECT_TRUE(check("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\n\r\n").passed);
  EXPECT_TRUE(check("HTTP/1.1 200 OK\nContent-Length: 0\n\n").passed);
  EXPECT_EQ(check("hello world\n").failure, "GET /health: the answer is not HTTP");
  EXPECT_EQ(check("HTTP/1.1 2000 OK\r\n\r\n").failure, "GET /health: the answer is not HTTP");
  EXPECT_EQ(check("").failure, "GET /health: the connection closed without an answer");
  EXPECT_EQ(check("HTTP/1.1 200").failure, "GET /health: the answer is not HTTP");  // no line end, then closed
}

// prisnd out of descriptors says nothing about the instance: the check is not run, and the
// checker counts it neither way.
TEST(Probes, OutOfDescriptorsIsNotTheInstancesFailure) {
#if defined(__SANITIZE_ADDRESS__)
  // The sanitizers' own checks need descriptors (UBSan's vptr check probes memory through a
  // pipe): with none left they report errors of their own. The release build runs this test.
  GTEST_SKIP() << "needs a process the sanitizers do not share";
#endif
  asio::io_context io;
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  rlimit low = old;
  low.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> held;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) held.push_back(fd);
  const auto result = outcome(io, tcp_probe("127.0.0.1", 9, std::chrono::milliseconds(500)));
  for (int fd : held) ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &old);
  EXPECT_FALSE(result.passed);
  EXPECT_TRUE(result.not_run);
  EXPECT_NE(result.failure.find("Too many open files"), std::string::npos) << result.failure;
}

TEST(Probes, ExecPassesOnExitZeroAndTimesOut) {
  asio::io_context io;
  process::ProcessWatcher watcher(io.get_executor());
  watcher.start();
  EXPECT_TRUE(run(io, exec_probe({"true"}, {"PATH=/usr/bin:/bin"}, "/", {}, std::chrono::milliseconds(2000), watcher)));
  EXPECT_EQ(outcome(io, exec_probe({"false"}, {"PATH=/usr/bin:/bin"}, "/", {}, std::chrono::milliseconds(2000), watcher))
                .failure,
            "the command ended: exit code 1");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(run(io, exec_probe({"sleep", "10"}, {"PATH=/usr/bin:/bin"}, "/", {}, std::chrono::milliseconds(200), watcher)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST(Checker, EntersRotationOnFirstPassAndLeavesAfterThreshold) {
  asio::io_context io;
  process::ProcessWatcher watcher(io.get_executor());
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();
  std::vector<bool> changes;
  Checker checker(io.get_executor(), watcher, [&](const std::string&, bool healthy) { changes.push_back(healthy); });
  Target t;
  t.id = "in-1";
  t.check.kind = model::HealthCheck::Kind::kTcp;
  t.check.interval = std::chrono::milliseconds(100);
  t.check.timeout = std::chrono::milliseconds(100);
  t.check.failure_threshold = 2;
  t.port = port;
  checker.add(t);
  for (int i = 0; i < 100 && changes.empty(); ++i) io.run_for(std::chrono::milliseconds(20));
  ASSERT_EQ(changes, std::vector<bool>{true});
  EXPECT_TRUE(checker.healthy("in-1"));
  acceptor.close();
  for (int i = 0; i < 100 && changes.size() < 2; ++i) io.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(changes, (std::vector<bool>{true, false}));
  checker.remove("in-1");
  EXPECT_FALSE(checker.healthy("in-1"));
}

}  // namespace
}  // namespace prisn::health
