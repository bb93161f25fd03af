// SPDX-License-Identifier: MIT
#pragma once

#include <string_view>

namespace prisn::daemon {

/// Sends `state` ("READY=1", "STOPPING=1") to systemd when NOTIFY_SOCKET is set; does nothing
/// otherwise. Written by hand instead of linking libsystemd: the protocol is one datagram on
/// a Unix socket, documented as stable for independent implementations (sd_notify(3)).
void sd_notify(std::string_view state);

}  // namespace prisn::daemon
