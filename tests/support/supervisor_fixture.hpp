// SPDX-License-Identifier: MIT
#pragma once

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <memory>

#include "prisn/logs/log_monitor.hpp"
#include "prisn/process/cgroups.hpp"
#include "prisn/process/watcher.hpp"
#include "prisn/store/store.hpp"
#include "prisn/supervisor/context.hpp"
#include "support/temp_dir.hpp"

namespace prisn::test {

/// A supervisor Context over a temporary data directory, with the real store, process
/// watcher, cgroups and log monitor, driven by `io` on the test's thread.
struct SupervisorFixture {
  SupervisorFixture()
      : store(store::Store::open(dir / "state.db", dir / "secret.key").value()),
        watcher(io.get_executor()),
        cgroups(process::Cgroups::detect(dir.path())),
        logs(io.get_executor(), std::chrono::milliseconds(250)) {
    watcher.start();
    supervisor::Options options;
    options.stop_grace = std::chrono::milliseconds(500);
    options.path_env = "/usr/bin:/bin";
    options.base_env = {"PATH=/usr/bin:/bin"};
    ctx = std::make_unique<supervisor::Context>(
        supervisor::Context{io.get_executor(), *store, watcher, cgroups, logs, supervisor::Paths{dir.path()}, options});
  }
  ~SupervisorFixture() {
    logs.stop();
    if (cgroups.available()) {
      std::error_code ec;
      std::filesystem::remove(cgroups.base(), ec);
    }
  }

  /// Runs the event loop until `done()` or `limit` passes; returns done().
  template <class Pred>
  bool run_until(Pred done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io.run_for(std::chrono::milliseconds(10));
      io.restart();
    }
    return done();
  }

  TempDir dir;
  boost::asio::io_context io;
  std::unique_ptr<store::Store> store;
  process::ProcessWatcher watcher;
  process::Cgroups cgroups;
  logs::LogMonitor logs;
  std::unique_ptr<supervisor::Context> ctx;
};

}  // namespace prisn::test
