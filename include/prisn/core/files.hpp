// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "prisn/core/error.hpp"

namespace prisn {

/// Whole file as bytes, or an error naming the path.
Result<std::string> read_file(const std::filesystem::path& path);

/// Writes to a temporary file beside `path`, fsyncs it and renames it into place, so a reader
/// sees either the old or the new content, never a torn one. `mode` applies to the new file.
Result<void> write_file_atomic(const std::filesystem::path& path, std::string_view content,
                               unsigned mode = 0644);

/// mkdir -p with the given mode for directories it creates.
Result<void> make_dirs(const std::filesystem::path& path, unsigned mode = 0755);

}  // namespace prisn
