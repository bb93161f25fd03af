// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "prisn/core/error.hpp"

namespace prisn::process {

/// A TCP port free on every address right now, chosen by the kernel, and not in `taken`.
/// (Another program can still take it before the workload binds it; the window is short.)
Result<std::uint16_t> pick_free_port(const std::set<std::uint16_t>& taken);

/// True when `host:port` can be bound for listening right now.
bool can_bind(const std::string& host, std::uint16_t port);

}  // namespace prisn::process
