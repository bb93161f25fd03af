// SPDX-License-Identifier: MIT
#pragma once

#include <string>

#include "prisn/config/config.hpp"

namespace prisn::daemon {

/// A listener that cannot bind, worded as SPEC §2 shows it: "cannot bind 0.0.0.0:80:
/// permission denied (use --http HOST:PORT or --http off)". `flag` names the listener.
std::string bind_error(const config::ListenAddress& addr, std::string reason, const std::string& flag);

}  // namespace prisn::daemon
