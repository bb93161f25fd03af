// SPDX-License-Identifier: MIT
#include "prisn/model/runtime.hpp"

#include <algorithm>
#include <filesystem>

namespace prisn::model {
namespace {

std::optional<std::string> runtime_for_program(std::string_view program) {
  // "python3.11" and "python" are python3; versioned names map to their family.
  if (program.starts_with("python")) return "python3";
  if (program == "bash") return "bash";
  if (program == "sh" || program == "dash") return "sh";
  if (program == "node" || program == "nodejs") return "node";
  if (program.starts_with("ruby")) return "ruby";
  if (program.starts_with("perl")) return "perl";
  if (program.starts_with("php")) return "php";
  return std::nullopt;
}

std::optional<std::string> from_shebang(std::string_view source) {
  if (!source.starts_with("#!")) {
    return std::nullopt;
  }
  std::string_view line = source.substr(2, source.find('\n') == std::string_view::npos
                                               ? std::string_view::npos
                                               : source.find('\n') - 2);
  auto next_word = [&line]() {
    const auto start = line.find_first_not_of(" \t\r");
    if (start == std::string_view::npos) {
      line = {};
      return std::string_view{};
    }
    line.remove_prefix(start);
    const auto end = line.find_first_of(" \t\r");
    std::string_view word = line.substr(0, end);
    line.remove_prefix(end == std::string_view::npos ? line.size() : end);
    return word;
  };
  std::string_view program = next_word();
  if (program.ends_with("/env")) {
    program = next_word();
    while (program.starts_with("-")) {  // "env -S python3 -u"
      program = next_word();
    }
  }
  const auto slash = program.rfind('/');
  if (slash != std::string_view::npos) {
    program.remove_prefix(slash + 1);
  }
  return runtime_for_program(program);
}

}  // namespace

const std::vector<std::string>& known_runtimes() {
  static const std::vector<std::string> kRuntimes = {"python3", "bash", "sh",  "node",
                                                     "ruby",    "perl", "php"};
  return kRuntimes;
}

bool is_known_runtime(std::string_view runtime) {
  const auto& all = known_runtimes();
  return std::find(all.begin(), all.end(), runtime) != all.end();
}

std::optional<std::string> detect_runtime(std::string_view filename, std::string_view source) {
  if (auto r = from_shebang(source)) {
    return r;
  }
  const std::string ext = std::filesystem::path(filename).extension().string();
  if (ext == ".py") return "python3";
  if (ext == ".sh" || ext == ".bash") return "bash";
  if (ext == ".js" || ext == ".mjs" || ext == ".cjs") return "node";
  if (ext == ".rb") return "ruby";
  if (ext == ".pl") return "perl";
  if (ext == ".php") return "php";
  return std::nullopt;
}

std::vector<std::string> interpreter_names(std::string_view runtime) {
  if (runtime == "python3") return {"python3"};
  if (runtime == "node") return {"node", "nodejs"};
  return {std::string(runtime)};
}

}  // namespace prisn::model
