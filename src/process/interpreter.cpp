// SPDX-License-Identifier: MIT
#include "prisn/process/interpreter.hpp"

#include <unistd.h>

#include <filesystem>

#include "prisn/model/runtime.hpp"

namespace prisn::process {

namespace {

// The first executable `name` in a directory of `path_env` that is (or is not) a shims directory.
std::optional<std::string> search(std::string_view path_env, const std::string& name, bool in_shims) {
  std::size_t start = 0;
  while (start <= path_env.size()) {
    auto end = path_env.find(':', start);
    if (end == std::string_view::npos) end = path_env.size();
    const std::string dir(path_env.substr(start, end - start));
    start = end + 1;
    if (dir.empty() || dir.ends_with("/shims") != in_shims) continue;
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0 && std::filesystem::is_regular_file(candidate)) return candidate;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> find_interpreter(std::string_view runtime, std::string_view path_env,
                                            std::string_view source) {
  const auto names = model::interpreter_names(runtime, source);
  for (const bool in_shims : {false, true}) {  // a shim only when nothing else is installed
    for (const auto& name : names) {
      if (auto found = search(path_env, name, in_shims)) return found;
    }
  }
  return std::nullopt;
}

}  // namespace prisn::process
