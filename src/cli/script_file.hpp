// SPDX-License-Identifier: MIT
// Reading the script a command sends (prisn run, prisn deploy, apply's spec.file).
#pragma once

#include <string>

namespace prisn::cli {

/// The bytes of `path`, which must be UTF-8 text: the API carries a source in a JSON string,
/// and any other byte would arrive replaced, so the script would no longer be the one on
/// disk. A file that cannot be read is a usage error (exit 2); one that is not UTF-8 fails
/// the command (exit 1). `shown` is how messages name the file.
std::string read_script(const std::string& path, const std::string& shown);

}  // namespace prisn::cli
