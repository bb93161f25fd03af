// SPDX-License-Identifier: MIT
#include "prisn/process/interpreter.hpp"

#include <unistd.h>

#include <filesystem>

#include "prisn/model/runtime.hpp"

namespace prisn::process {

std::optional<std::string> find_interpreter(std::string_view runtime, std::string_view path_env,
                                            std::string_view source) {
  for (const auto& name : model::interpreter_names(runtime, source)) {
    std::size_t start = 0;
    while (start <= path_env.size()) {
      auto end = path_env.find(':', start);
      if (end == std::string_view::npos) end = path_env.size();
      const std::string dir(path_env.substr(start, end - start));
      start = end + 1;
      if (dir.empty() || dir.ends_with("/shims")) {
        continue;
      }
      const std::string candidate = dir + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0 && std::filesystem::is_regular_file(candidate)) {
        return candidate;
      }
    }
  }
  return std::nullopt;
}

}  // namespace prisn::process
