// SPDX-License-Identifier: MIT
// The one place that knows every module: builds them from the Config, binds the listeners,
// runs the event loops and shuts everything down in order.
#pragma once

#include <memory>

#include "daemon/options.hpp"
#include "prisn/config/config.hpp"

namespace prisn::daemon {

class Daemon {
 public:
  Daemon(config::Config config, Flags flags);
  ~Daemon();

  /// Runs until SIGTERM/SIGINT and a graceful shutdown; returns the process exit code.
  int run();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace prisn::daemon
