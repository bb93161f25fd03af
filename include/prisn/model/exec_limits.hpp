// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>

namespace prisn::model {

/// Linux caps each command-line argument and each environment string ("NAME=value"), with its
/// NUL, at MAX_ARG_STRLEN (32 pages): execve fails with E2BIG past it, and the run could not
/// start. Checked when a deployment or run is sent, so the field is named then.
inline constexpr std::size_t kMaxExecString = 32 * 4096;

/// All arguments and environment strings together may take a quarter of the stack limit
/// (2 MiB with the usual 8 MiB). A deployment's own `args` and `env` may take half of that; the
/// rest is left to the node's environment and prisn's variables.
inline constexpr std::size_t kMaxExecTotal = 1024 * 1024;

}  // namespace prisn::model
