// SPDX-License-Identifier: MIT
// prisnd's command line and configuration assembly (SPEC §2): flags override the file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "prisn/config/config.hpp"

namespace prisn::daemon {

struct Flags {
  std::string config;
  std::string data_dir;
  std::string api;
  std::string dns;
  std::string http;
  std::string https;
  std::string tcp_ports;
  std::string network;
  std::string log_level;
};

/// The configuration prisnd runs with: defaults, then the config file(s), then flags.
/// Errors are complete sentences naming the file, key and line, or the flag.
boost::system::result<config::Config, std::vector<std::string>> assemble(const Flags& flags);

/// The default data directory: /var/lib/prisn as root, else $XDG_DATA_HOME/prisn.
std::string default_data_dir();

}  // namespace prisn::daemon
