// SPDX-License-Identifier: MIT
#include "cli/script_file.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "cli/cli.hpp"
#include "prisn/core/base64.hpp"
#include "prisn/core/files.hpp"

namespace prisn::cli {

std::string read_script(const std::string& path, const std::string& shown) {
  auto bytes = read_file(path);
  if (!bytes) {
    std::error_code ec;
    const char* why = std::filesystem::is_directory(path, ec) ? "it is a directory"
                      : std::filesystem::exists(path, ec)     ? "permission denied"
                                                              : "no such file";
    throw UsageError(fmt::format("cannot read {}: {}", shown, why));
  }
  if (!is_valid_utf8(*bytes)) {
    Cli::fail(fmt::format("{} is not UTF-8 text: save it as UTF-8 to run it with prisn", shown));
  }
  return std::move(*bytes);
}

}  // namespace prisn::cli
