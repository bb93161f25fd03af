// SPDX-License-Identifier: MIT
// The three probe kinds, as coroutines that never throw.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "prisn/process/spawn.hpp"
#include "prisn/process/watcher.hpp"

namespace prisn::health {

/// A probe's outcome: passed, or why not ("connection refused", "status 500, expected 2xx").
struct ProbeResult {
  bool passed = false;
  std::string failure;
  /// prisnd itself could not run the check (out of descriptors or memory): it says nothing
  /// about the instance, and counts neither way.
  bool not_run = false;
  explicit operator bool() const { return passed; }
  static ProbeResult pass() { return {true, {}, false}; }
  static ProbeResult fail(std::string why) { return {false, std::move(why), false}; }
  static ProbeResult could_not_run(std::string why) { return {false, std::move(why), true}; }
};

/// Connects within `timeout`.
boost::asio::awaitable<ProbeResult> tcp_probe(std::string host, std::uint16_t port,
                                       std::chrono::milliseconds timeout);

/// GET `path`; passes on 2xx, or exactly `expected_status` when that is non-zero.
boost::asio::awaitable<ProbeResult> http_probe(std::string host, std::uint16_t port, std::string path,
                                        int expected_status, std::chrono::milliseconds timeout);

/// Runs `command` (in an instance's namespaces when given); passes when it exits 0 within
/// `timeout` (its process group is killed otherwise). While it runs, `*running` (when given)
/// holds its pid, its process group's id, for whoever must end it sooner.
boost::asio::awaitable<ProbeResult> exec_probe(std::vector<std::string> command, std::vector<std::string> env,
                                        std::filesystem::path cwd, process::InstanceNamespaces namespaces,
                                        std::chrono::milliseconds timeout, process::ProcessWatcher& watcher,
                                        std::shared_ptr<int> running = nullptr);

/// The status code of an HTTP/1.x status line ("HTTP/1.1 200 OK"), or 0 when malformed.
int parse_status_line(std::string_view line);

}  // namespace prisn::health
