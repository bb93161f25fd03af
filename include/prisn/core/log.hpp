// SPDX-License-Identifier: MIT
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>

namespace prisn {

/// Configures the process-wide stderr sink: one line per event, colour only on a terminal.
/// `level` is trace|debug|info|warn|error; returns false for an unknown level.
bool init_logging(std::string_view level);

/// The logger named "prisn.<module>", created on first use with the shared sink. Thread-safe.
std::shared_ptr<spdlog::logger> logger(const std::string& module);

}  // namespace prisn
