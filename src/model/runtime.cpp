// SPDX-License-Identifier: MIT
#include "prisn/model/runtime.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

namespace prisn::model {
namespace {

std::optional<std::string> runtime_for_program(std::string_view program) {
  // "python3.11" and "python" are python3; Python 2 is another language, not run by prisn.
  if (program.starts_with("python2")) return std::nullopt;
  if (program.starts_with("python")) return "python3";
  if (program == "bash") return "bash";
  if (program == "sh" || program == "dash") return "sh";
  if (program == "node" || program == "nodejs") return "node";
  if (program.starts_with("ruby")) return "ruby";
  if (program.starts_with("perl")) return "perl";
  if (program.starts_with("php")) return "php";
  return std::nullopt;
}

// A shebang line: the program it names (base name; through env, the one env runs) and the
// options after it.
struct Shebang {
  std::string_view program;
  std::vector<std::string> options;
};

std::optional<Shebang> parse_shebang(std::string_view source) {
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
  Shebang out;
  out.program = next_word();
  if (out.program.ends_with("/env")) {
    out.program = next_word();
    while (out.program.starts_with("-")) {  // "env -S python3 -u"
      out.program = next_word();
    }
  }
  if (const auto slash = out.program.rfind('/'); slash != std::string_view::npos) {
    out.program.remove_prefix(slash + 1);
  }
  // The kernel hands the rest of the line to the interpreter as one argument; split, as
  // `env -S` does, so "#!/bin/bash -e -u" works as its author meant.
  for (auto word = next_word(); !word.empty(); word = next_word()) out.options.emplace_back(word);
  return out;
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
  if (auto shebang = parse_shebang(source); shebang && !shebang->program.empty()) {
    return runtime_for_program(shebang->program);  // the author's choice: not overridden by the extension
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

std::string undetected_runtime(std::string_view source) {
  auto shebang = parse_shebang(source);
  if (shebang && !shebang->program.empty()) {
    return fmt::format("runtime: the shebang line names '{}', which is not one of prisn's runtimes "
                       "(python3, bash, sh, node, ruby, perl, php); give one with runtime (--runtime)",
                       shebang->program.substr(0, 40));
  }
  return "runtime: cannot be detected from the file name or a shebang line; give one of "
         "python3, bash, sh, node, ruby, perl, php";
}

std::vector<std::string> shebang_options(std::string_view source, std::string_view runtime) {
  auto shebang = parse_shebang(source);
  if (!shebang || runtime_for_program(shebang->program) != runtime) return {};
  return shebang->options;
}

std::vector<std::string> interpreter_names(std::string_view runtime, std::string_view source) {
  std::vector<std::string> names = runtime == "node" ? std::vector<std::string>{"node", "nodejs"}
                                                      : std::vector<std::string>{std::string(runtime)};
  // A version of the program: its name, then digits and dots ("python3.13", "perl5.36.0").
  // "python" alone is not one (it may be Python 2 on an old system).
  const std::string_view base = runtime == "python3" ? "python3." : runtime;
  if (auto shebang = parse_shebang(source); shebang && shebang->program.size() > base.size() &&
                                            shebang->program.starts_with(base) &&
                                            runtime_for_program(shebang->program) == runtime &&
                                            shebang->program.find_first_not_of("0123456789.", base.size()) ==
                                                std::string_view::npos) {
    names.insert(names.begin(), std::string(shebang->program));
  }
  return names;
}

}  // namespace prisn::model
