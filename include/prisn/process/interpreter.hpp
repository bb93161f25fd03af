// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace prisn::process {

/// The absolute path of the interpreter for `runtime`, searched on `path_env` (a PATH value).
///
/// Directories of version-manager shims (pyenv, rbenv, nodenv: ".../shims") come last: a shim
/// picks an interpreter from the caller's working directory and shell state, which a daemon
/// does not have, and costs a shell start per run (pyenv's adds ~60 ms to every Python start),
/// so an interpreter installed elsewhere on PATH is preferred, and a shim is used only when
/// there is none. nullopt when none is found.
std::optional<std::string> find_interpreter(std::string_view runtime, std::string_view path_env,
                                            std::string_view source = {});

}  // namespace prisn::process
