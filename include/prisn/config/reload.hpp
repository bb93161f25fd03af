// SPDX-License-Identifier: MIT
// What a SIGHUP reload can change in a running prisnd, and what only a restart applies.
#pragma once

#include <string>
#include <vector>

#include "prisn/config/config.hpp"

namespace prisn::config {

/// The keys that differ between the running configuration and `next` and that a reload
/// cannot apply: listeners, the DNS domain and upstreams, the TCP port range, the publish
/// address, worker counts, ACME and the network. Everything else — the log level, api.auth
/// and api.bodyLimit, dns.ttl, the proxy.https certificate files, the supervisor section —
/// takes effect on reload.
std::vector<std::string> restart_only_changes(const Config& running, const Config& next);

}  // namespace prisn::config
