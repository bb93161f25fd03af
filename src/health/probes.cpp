// SPDX-License-Identifier: MIT
#include "health/probes.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/this_coro.hpp>
#include <cstring>
#include <memory>

#include "prisn/process/spawn.hpp"
#include "prisn/process/proc.hpp"

namespace prisn::health {
namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

namespace {

enum class Connect { kDone, kFailed, kPending };

int socket_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  return ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 ? err : errno;
}

// A non-blocking connect(2). On loopback the whole handshake runs inside the call, so a poll
// with no wait settles it: most probes then need neither the reactor nor a timer.
// `error` says why it failed.
Connect start_connect(int fd, const tcp::endpoint& ep, int& error) {
  error = 0;
  if (::connect(fd, ep.data(), static_cast<socklen_t>(ep.size())) == 0) return Connect::kDone;
  if (errno != EINPROGRESS) {
    error = errno;
    return Connect::kFailed;
  }
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, 0) == 0) return Connect::kPending;
  error = socket_error(fd);
  return error == 0 ? Connect::kDone : Connect::kFailed;
}

// A non-blocking TCP socket with a connect to host:port under way; -1 when none could start
// (`error` then says why, 0 for a host that is not an address). Otherwise `error`: why the
// connect failed, when `state` says it did.
int open_and_connect(const std::string& host, std::uint16_t port, tcp::endpoint& ep, Connect& state, int& error) {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return -1;
  ep = tcp::endpoint(address, port);
  const int fd = ::socket(ep.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = errno;
    return -1;
  }
  // An orderly close (FIN), never a reset: a naive service that writes a greeting to every
  // connection would die of ECONNRESET on a probe that resets.
  state = start_connect(fd, ep, error);
  return fd;
}

// No socket to probe with: prisnd's own shortage (descriptors, memory) is not the instance's
// failure; anything else is.
ProbeResult no_socket(const std::string& host, std::uint16_t port, int error) {
  const std::string why = fmt::format("cannot open a socket to {}:{}{}{}", host, port, error != 0 ? ": " : "",
                                      error != 0 ? std::strerror(error) : "");
  const bool own_shortage = error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
  return own_shortage ? ProbeResult::could_not_run(why) : ProbeResult::fail(why);
}

// Why a connect to `ep` failed: the socket's error, or the deadline.
std::string connect_failure(const tcp::endpoint& ep, int err) {
  const std::string where = fmt::format("{}:{}", ep.address().to_string(), ep.port());
  if (err == 0) return fmt::format("no connection to {} within the timeout", where);
  return fmt::format("cannot connect to {}: {}", where, std::strerror(err));
}

// Hands `fd` to `socket` and waits for its connect to finish before `deadline`.
asio::awaitable<ProbeResult> finish_connect(tcp::socket& socket, int fd, const tcp::endpoint& ep, Connect state,
                                            int error, asio::steady_timer& deadline) {
  boost::system::error_code ec;
  socket.assign(ep.protocol(), fd, ec);  // the socket owns fd from here
  if (ec) {
    ::close(fd);
    co_return ProbeResult::fail(ec.message());
  }
  if (state == Connect::kDone) co_return ProbeResult::pass();
  if (state == Connect::kFailed) co_return ProbeResult::fail(connect_failure(ep, error));
  auto result = co_await (socket.async_wait(tcp::socket::wait_write, kNoThrow) || deadline.async_wait(kNoThrow));
  if (result.index() != 0 || std::get<0>(std::get<0>(result))) co_return ProbeResult::fail(connect_failure(ep, 0));
  const int err = socket_error(fd);
  co_return err == 0 ? ProbeResult::pass() : ProbeResult::fail(connect_failure(ep, err));
}

asio::awaitable<ProbeResult> connect(tcp::socket& socket, asio::steady_timer& deadline, const std::string& host,
                                     std::uint16_t port) {
  tcp::endpoint ep;
  Connect state = Connect::kFailed;
  int error = 0;
  const int fd = open_and_connect(host, port, ep, state, error);
  if (fd < 0) co_return no_socket(host, port, error);
  co_return co_await finish_connect(socket, fd, ep, state, error, deadline);
}

}  // namespace

int parse_status_line(std::string_view line) {
  if (!line.starts_with("HTTP/1.") || line.size() < 12 || line[8] != ' ' || (line.size() > 12 && line[12] != ' ')) {
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

asio::awaitable<ProbeResult> tcp_probe(std::string host, std::uint16_t port, std::chrono::milliseconds timeout) {
  tcp::endpoint ep;
  Connect state = Connect::kFailed;
  int error = 0;
  const int fd = open_and_connect(host, port, ep, state, error);
  if (fd < 0) co_return no_socket(host, port, error);
  if (state != Connect::kPending) {  // settled at once: no reactor, no timer
    ::close(fd);
    co_return state == Connect::kDone ? ProbeResult::pass() : ProbeResult::fail(connect_failure(ep, error));
  }
  auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  asio::steady_timer deadline(ex, timeout);
  co_return co_await finish_connect(socket, fd, ep, state, error, deadline);
}

asio::awaitable<ProbeResult> http_probe(std::string host, std::uint16_t port, std::string path,
                                        int expected_status, std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  asio::steady_timer deadline(ex, timeout);
  if (auto connected = co_await connect(socket, deadline, host, port); !connected) co_return connected;
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host + ":" +
                              std::to_string(port) +
                              "\r\nUser-Agent: prisn-health/1\r\nConnection: close\r\n\r\n";
  auto written = co_await (asio::async_write(socket, asio::buffer(request), kNoThrow) ||
                           deadline.async_wait(kNoThrow));
  if (written.index() != 0 || std::get<0>(std::get<0>(written))) {
    co_return ProbeResult::fail(fmt::format("GET {}: the request could not be sent", path));
  }
  std::string received;
  enum class Got { kLine, kTimeout, kClosed };
  // One line of the answer, without its end (CRLF, or a bare LF as lenient servers send).
  auto read_line = [&](std::string& line) -> asio::awaitable<Got> {
    auto read = co_await (asio::async_read_until(socket, asio::dynamic_buffer(received, 4096), "\n", kNoThrow) ||
                          deadline.async_wait(kNoThrow));
    if (read.index() != 0) co_return Got::kTimeout;
    if (std::get<0>(std::get<0>(read))) co_return Got::kClosed;
    const auto end = received.find('\n');
    line = received.substr(0, end > 0 && received[end - 1] == '\r' ? end - 1 : end);
    received.erase(0, end + 1);
    co_return Got::kLine;
  };
  std::string line;
  int code = 0;
  // An interim answer (100 Continue, 103 Early Hints) comes before the real one: skipped, with
  // its fields, as many as fit in the timeout (RFC 9110 §15.2).
  for (bool first = true; code == 0 || (code >= 100 && code < 200 && code != 101); first = false) {
    const Got got = co_await read_line(line);
    if (got == Got::kTimeout) co_return ProbeResult::fail(fmt::format("GET {}: no answer within the timeout", path));
    if (got == Got::kClosed) {
      co_return ProbeResult::fail(first && received.empty() ? fmt::format("GET {}: the connection closed without an answer", path)
                                                            : fmt::format("GET {}: the answer is not HTTP", path));
    }
    code = parse_status_line(line);
    if (code == 0) co_return ProbeResult::fail(fmt::format("GET {}: the answer is not HTTP", path));
    if (code >= 100 && code < 200 && code != 101) {
      while (co_await read_line(line) == Got::kLine && !line.empty()) {
      }
    }
  }
  if (expected_status != 0 ? code == expected_status : (code >= 200 && code < 300)) co_return ProbeResult::pass();
  co_return ProbeResult::fail(expected_status != 0 ? fmt::format("GET {}: status {}, expected {}", path, code, expected_status)
                                                   : fmt::format("GET {}: status {}, expected 2xx", path, code));
}

asio::awaitable<ProbeResult> exec_probe(std::vector<std::string> command, std::vector<std::string> env,
                                 std::filesystem::path cwd, process::InstanceNamespaces namespaces,
                                 std::chrono::milliseconds timeout, process::ProcessWatcher& watcher,
                                 std::shared_ptr<int> running) {
  auto ex = co_await asio::this_coro::executor;
  auto pid = process::spawn_simple(command, env, cwd, namespaces);
  if (!pid) co_return ProbeResult::fail("cannot run: " + pid.error().message);
  if (running) *running = *pid;
  struct Done {
    std::shared_ptr<int> running;
    ~Done() {
      if (running) *running = 0;
    }
  } done{running};
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
    co_return ProbeResult::fail("the command did not end within the timeout");
  }
  const int status = *outcome->status;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) co_return ProbeResult::pass();
  const bool not_found = WIFEXITED(status) && WEXITSTATUS(status) == 127;  // the exec, or a shell's command
  co_return ProbeResult::fail("the command ended: " + process::describe_wait_status(status) +
                              (not_found ? " (a command was not found)" : ""));
}

}  // namespace prisn::health
