// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "prisn/core/error.hpp"

namespace prisn::network {

/// Runs `argv` (looked up on PATH) to completion with `input` on its stdin and returns what
/// it wrote to stdout. A non-zero exit, a signal or passing `timeout` (the program is then
/// killed) is an error that quotes the command and the end of what it wrote to stderr.
///
/// The network plumbing is done by iproute2 (`ip`) and nftables (`nft`), the tools an
/// operator uses to inspect it, rather than by netlink messages written by hand.
/// Blocks the calling thread; each call is a few milliseconds.
Result<std::string> run_command(const std::vector<std::string>& argv, std::string_view input = {},
                                std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// `nft -f -` with `ruleset`: one transaction, applied whole or not at all.
Result<void> run_nft(const std::string& ruleset);

/// Writes `value` to a /proc/sys file in one write(2), in place (no temporary file, no rename).
Result<void> write_sysctl(const std::filesystem::path& file, const char* value);

}  // namespace prisn::network
