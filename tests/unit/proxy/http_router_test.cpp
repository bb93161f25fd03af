// SPDX-License-Identifier: MIT
// The L7 router's deadlines against real sockets on loopback: a client that sends no header,
// an instance that never answers, a kept-alive connection left idle. Plain blocking POSIX
// sockets on the test's side, so what is measured is the router's behaviour alone.
#include "prisn/proxy/http_router.hpp"

#include <chrono>
#include <string>
#include <thread>

#include "unit/proxy/loopback.hpp"

namespace prisn::proxy {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using test_support::connect_to;
using test_support::Fd;
using test_support::loopback;

// A listening socket on a free loopback port: the kernel completes connections to it even
// though nobody calls accept(), which makes it an instance that never answers.
std::uint16_t listen_on_free_port(const Fd& fd) {
  auto a = loopback(0);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::listen(fd.get(), 16), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

void send_all(const Fd& fd, std::string_view bytes) {
  ASSERT_EQ(::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
}

// Everything the router sends until it closes the connection (or 5 s pass).
std::string read_until_closed(const Fd& fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

class HttpRouterDeadlines : public test_support::RouterTest {
 protected:
  void SetUp() override {
    HttpRouterOptions o;
    o.workers = 2;
    o.header_timeout = 1s;
    o.idle_timeout = 1s;
    o.upstream_timeout = 1s;
    start(o);
  }
};

TEST_F(HttpRouterDeadlines, ClosesAConnectionThatSendsNoHeaderInTime) {
  const Fd client = connect_to(port_);
  const auto start = Clock::now();
  EXPECT_EQ(read_until_closed(client), "");
  const double waited = seconds_since(start);
  EXPECT_GT(waited, 0.7);
  EXPECT_LT(waited, 2.5);
}

TEST_F(HttpRouterDeadlines, ClosesAConnectionWhoseHeaderNeverEnds) {
  const Fd client = connect_to(port_);
  const auto start = Clock::now();
  send_all(client, "GET / HTTP/1.1\r\nHost: t.test\r\nX-Slow: ");
  EXPECT_EQ(read_until_closed(client), "");
  EXPECT_LT(seconds_since(start), 2.5);
}

TEST_F(HttpRouterDeadlines, AnswersBadGatewayWhenTheInstanceNeverAnswers) {
  const Fd silent(::socket(AF_INET, SOCK_STREAM, 0));
  route_to(listen_on_free_port(silent));
  const Fd client = connect_to(port_);
  const auto start = Clock::now();
  send_all(client, "GET / HTTP/1.1\r\nHost: t.test\r\n\r\n");
  const std::string answer = read_until_closed(client);
  const double waited = seconds_since(start);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 502 ")) << answer;
  EXPECT_NE(answer.find("timeout"), std::string::npos) << answer;
  EXPECT_GT(waited, 0.7);
  EXPECT_LT(waited, 2.5);
}

TEST_F(HttpRouterDeadlines, RelaysAnAnswerThenClosesTheIdleConnection) {
  const Fd instance(::socket(AF_INET, SOCK_STREAM, 0));
  route_to(listen_on_free_port(instance));
  std::string seen;
  std::thread server([&] {  // answers one request
    const Fd conn(::accept(instance.get(), nullptr, nullptr));
    char buf[4096];
    while (seen.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(conn.get(), buf, sizeof buf, 0);
      if (n <= 0) return;
      seen.append(buf, static_cast<std::size_t>(n));
    }
    send_all(conn, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
  });
  const Fd client = connect_to(port_);
  send_all(client, "GET /x HTTP/1.1\r\nHost: t.test\r\n\r\n");
  const auto start = Clock::now();
  const std::string answer = read_until_closed(client);
  const double waited = seconds_since(start);
  server.join();
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 OK\r\n")) << answer;
  EXPECT_TRUE(answer.ends_with("\r\n\r\nok\n")) << answer;
  EXPECT_TRUE(seen.starts_with("GET /x HTTP/1.1\r\n")) << seen;
  EXPECT_NE(seen.find("X-Forwarded-For: 127.0.0.1\r\n"), std::string::npos) << seen;
  EXPECT_GT(waited, 0.7);  // kept alive after the answer, closed once idle for 1 s
  EXPECT_LT(waited, 2.5);
}

}  // namespace
}  // namespace prisn::proxy
