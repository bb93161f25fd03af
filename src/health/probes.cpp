// SPDX-License-Identifier: MIT
#include "health/probes.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/this_coro.hpp>
#include <memory>

#include "prisn/process/spawn.hpp"

namespace prisn::health {
namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

namespace {

// Connects `socket` to host:port before `deadline` expires.
asio::awaitable<bool> connect(tcp::socket& socket, asio::steady_timer& deadline,
                              const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) {
    co_return false;
  }
  auto result = co_await (socket.async_connect(tcp::endpoint(address, port), kNoThrow) ||
                          deadline.async_wait(kNoThrow));
  co_return result.index() == 0 && !std::get<0>(std::get<0>(result));
}

}  // namespace

int parse_status_line(std::string_view line) {
  if (!line.starts_with("HTTP/1.") || line.size() < 12 || line[8] != ' ') {
    return 0;
  }
  int code = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') {
      return 0;
    }
    code = code * 10 + (line[i] - '0');
  }
  return code;
}

asio::awaitable<bool> tcp_probe(std::string host, std::uint16_t port, std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  asio::steady_timer deadline(ex, timeout);
  co_return co_await connect(socket, deadline, host, port);
}

asio::awaitable<bool> http_probe(std::string host, std::uint16_t port, std::string path,
                                 int expected_status, std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  asio::steady_timer deadline(ex, timeout);
  if (!co_await connect(socket, deadline, host, port)) {
    co_return false;
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host + ":" +
                              std::to_string(port) +
                              "\r\nUser-Agent: prisn-health/1\r\nConnection: close\r\n\r\n";
  auto written = co_await (asio::async_write(socket, asio::buffer(request), kNoThrow) ||
                           deadline.async_wait(kNoThrow));
  if (written.index() != 0 || std::get<0>(std::get<0>(written))) {
    co_return false;
  }
  std::string response;
  auto read = co_await (asio::async_read_until(socket, asio::dynamic_buffer(response, 4096), "\r\n", kNoThrow) ||
                        deadline.async_wait(kNoThrow));
  if (read.index() != 0 || std::get<0>(std::get<0>(read))) {
    co_return false;
  }
  const int code = parse_status_line(std::string_view(response).substr(0, response.find("\r\n")));
  co_return expected_status != 0 ? code == expected_status : (code >= 200 && code < 300);
}

asio::awaitable<bool> exec_probe(std::vector<std::string> command, std::vector<std::string> env,
                                 std::filesystem::path cwd, std::chrono::milliseconds timeout,
                                 process::ProcessWatcher& watcher) {
  auto ex = co_await asio::this_coro::executor;
  auto pid = process::spawn_simple(command, env, cwd);
  if (!pid) {
    co_return false;
  }
  struct Outcome {
    explicit Outcome(asio::any_io_executor e) : done(e) {}
    std::optional<int> status;
    asio::steady_timer done;
  };
  auto outcome = std::make_shared<Outcome>(ex);
  outcome->done.expires_after(timeout);
  watcher.watch_child(*pid, [outcome](std::optional<int> status) {
    outcome->status = status;
    outcome->done.cancel();
  });
  co_await outcome->done.async_wait(kNoThrow);
  if (!outcome->status) {
    ::killpg(*pid, SIGKILL);  // too slow: the whole probe group goes; the reaper collects it
    co_return false;
  }
  co_return WIFEXITED(*outcome->status) && WEXITSTATUS(*outcome->status) == 0;
}

}  // namespace prisn::health
