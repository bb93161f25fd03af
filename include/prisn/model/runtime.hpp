// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace prisn::model {

/// The runtimes prisn knows (SPEC §6.1): python3, bash, sh, node, ruby, perl, php.
const std::vector<std::string>& known_runtimes();
bool is_known_runtime(std::string_view runtime);

/// Runtime from the shebang first ("#!/usr/bin/env python3", "#!/bin/bash"), then the file
/// extension (.py .sh .js .rb .pl .php). nullopt when neither tells, or when the shebang names
/// a program that is not one of the runtimes (python2, awk): the extension does not override it.
std::optional<std::string> detect_runtime(std::string_view filename, std::string_view source);

/// Why detect_runtime() found none, for the 422: the shebang's program when it names one
/// prisn does not run ("python2", "awk"), else that neither the name nor a shebang tells.
std::string undetected_runtime(std::string_view source);

/// The options a script's shebang gives its interpreter ("#!/bin/bash -e" → {"-e"},
/// "#!/usr/bin/env -S python3 -u" → {"-u"}), when the shebang names an interpreter of
/// `runtime`; none otherwise (a --runtime that overrides the shebang takes none of them).
std::vector<std::string> shebang_options(std::string_view source, std::string_view runtime);

/// The interpreter programs to look for on PATH, most specific first
/// (python3 → {"python3"}; node → {"node", "nodejs"}). A `source` whose shebang names a
/// version of the runtime's program ("#!/usr/bin/env python3.13", "#!/usr/bin/ruby3.1") puts
/// that program first, as running the script directly would; the runtime's own names follow,
/// so the script still runs where only those are installed.
std::vector<std::string> interpreter_names(std::string_view runtime, std::string_view source = {});

}  // namespace prisn::model
