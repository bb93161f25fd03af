// SPDX-License-Identifier: MIT
#include "prisn/supervisor/environment.hpp"

#include <fmt/format.h>

#include <array>

#include "prisn/model/exec_limits.hpp"

extern char** environ;

namespace prisn::supervisor {

Result<std::map<std::string, std::string>> resolve_secrets(const store::Store& store,
                                                           const std::string& ns,
                                                           const std::vector<model::SecretRef>& refs) {
  std::map<std::string, std::string> out;
  for (const auto& ref : refs) {
    auto values = store.secret_values(ns, ref.secret);
    if (!values) {
      if (values.error().kind == Error::Kind::kNotFound) {
        return Error::invalid(fmt::format("secret '{}' not found in namespace '{}'", ref.secret, ns));
      }
      return Error::internal(fmt::format("secret '{}': {}", ref.secret, values.error().message));
    }
    auto chosen = values->end();
    if (!ref.key.empty()) {
      chosen = values->find(ref.key);
      if (chosen == values->end()) {
        return Error::invalid(fmt::format("secret '{}' has no key '{}'", ref.secret, ref.key));
      }
    } else if (chosen = values->find("value"); chosen == values->end()) {
      if (values->size() != 1) {
        return Error::invalid(fmt::format(
            "secret '{}' has several keys; name one as {}/KEY:{}", ref.secret, ref.secret, ref.env));
      }
      chosen = values->begin();
    }
    // The environment block is C strings: a NUL would silently cut the value short.
    if (chosen->second.find('\0') != std::string::npos) {
      return Error::invalid(fmt::format("secret '{}' key '{}' holds a NUL byte, which an environment variable cannot carry",
                                        ref.secret, chosen->first));
    }
    // As the API checks env values (model/exec_limits.hpp): execve would fail with E2BIG.
    if (ref.env.size() + 1 + chosen->second.size() + 1 > model::kMaxExecString) {
      return Error::invalid(fmt::format("secret '{}' key '{}' holds {} bytes: as {}=value, more than an environment "
                                        "variable can carry ({} bytes)", ref.secret, chosen->first,
                                        chosen->second.size(), ref.env, model::kMaxExecString - 1));
    }
    out[ref.env] = chosen->second;
  }
  return out;
}

std::vector<std::string> build_environment(const std::vector<std::string>& base,
                                           const std::string& runtime,
                                           const std::map<std::string, std::string>& prisn_vars,
                                           const std::map<std::string, std::string>& deployment_env,
                                           const std::map<std::string, std::string>& overrides,
                                           const std::map<std::string, std::string>& secrets) {
  std::map<std::string, std::string> merged;
  for (const auto& entry : base) {
    const auto eq = entry.find('=');
    if (eq != std::string::npos) {
      merged[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
  if (runtime == "python3") {
    merged["PYTHONUNBUFFERED"] = "1";
  }
  for (const auto* layer : {&prisn_vars, &deployment_env, &overrides, &secrets}) {
    for (const auto& [k, v] : *layer) {
      merged[k] = v;
    }
  }
  std::vector<std::string> out;
  out.reserve(merged.size());
  for (const auto& [k, v] : merged) {
    out.push_back(k + "=" + v);
  }
  return out;
}

std::vector<std::string> inherited_environment() {
  // PWD is set per process to its own working directory; OLDPWD means nothing there.
  static constexpr std::array<std::string_view, 8> kDropped = {
      "PRISN_TOKEN", "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
      "WATCHDOG_USEC", "WATCHDOG_PID", "OLDPWD"};
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const auto name = entry.substr(0, entry.find('='));
    bool drop = name.starts_with("PRISN_");
    for (auto d : kDropped) {
      drop = drop || name == d;
    }
    if (!drop) {
      out.emplace_back(entry);
    }
  }
  return out;
}

}  // namespace prisn::supervisor
