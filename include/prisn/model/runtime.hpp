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
/// extension (.py .sh .js .rb .pl .php). nullopt when neither tells.
std::optional<std::string> detect_runtime(std::string_view filename, std::string_view source);

/// The interpreter programs to look for on PATH, most specific first
/// (python3 → {"python3"}; node → {"node", "nodejs"}).
std::vector<std::string> interpreter_names(std::string_view runtime);

}  // namespace prisn::model
