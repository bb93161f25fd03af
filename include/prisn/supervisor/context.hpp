// SPDX-License-Identifier: MIT
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "prisn/logs/log_monitor.hpp"
#include "prisn/network/bridge.hpp"
#include "prisn/process/cgroups.hpp"
#include "prisn/process/watcher.hpp"
#include "prisn/store/store.hpp"
#include "prisn/supervisor/paths.hpp"

namespace prisn::supervisor {

struct Options {
  std::chrono::milliseconds stop_grace{10'000};
  std::size_t execution_history = 100;
  std::uint64_t log_max_bytes = 10 * 1024 * 1024;
  bool cron_catch_up = false;
  std::string api_url;                ///< PRISN_API for workloads
  /// PRISN_API for instances in bridge mode: the API through the gateway (empty in host mode).
  std::string bridge_api_url;
  std::string path_env;               ///< PATH used to find interpreters
  std::vector<std::string> base_env;  ///< every workload's environment starts from this
  /// When set, the file bind-mounted over /etc/resolv.conf for workloads of a namespace.
  std::function<std::filesystem::path(const std::string& ns)> resolv_conf;
  std::string dns_domain = "prisn.local";  ///< for the instance's own name in its /etc/hosts

  /// How every log (an execution's, an instance's) is capped: `log_max_bytes` in all, in five
  /// pieces, so that between 4/5 of the cap and all of it stays (a rotation drops a piece).
  logs::Policy log_policy() const { return {log_max_bytes, 4}; }
};

/// What the supervisor parts share. Built by the daemon; every member outlives the parts.
/// Thread: control thread.
struct Context {
  boost::asio::any_io_executor executor;
  store::Store& store;
  process::ProcessWatcher& watcher;
  const process::Cgroups& cgroups;
  logs::LogMonitor& logs;
  Paths paths;
  Options options;
  /// Bridge mode (SPEC §7.1): every instance gets a namespace on it. Null in host mode.
  network::Bridge* bridge = nullptr;
};

}  // namespace prisn::supervisor
