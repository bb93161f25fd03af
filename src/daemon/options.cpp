// SPDX-License-Identifier: MIT
#include "daemon/options.hpp"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace prisn::daemon {
namespace fs = std::filesystem;

std::string default_data_dir() {
  if (::geteuid() == 0) {
    return "/var/lib/prisn";
  }
  // A relative XDG_DATA_HOME is invalid and ignored (XDG Base Directory Specification).
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg == '/') {
    return std::string(xdg) + "/prisn";
  }
  // Without HOME, the user's home from the password database: never a path relative to
  // wherever prisnd happens to be started.
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    const passwd* pw = ::getpwuid(::geteuid());
    home = pw != nullptr && pw->pw_dir != nullptr ? pw->pw_dir : "/tmp";
  }
  return std::string(home) + "/.local/share/prisn";
}

namespace {

void apply_file(const fs::path& file, config::Config& cfg, std::vector<std::string>& errors,
                config::Sections sections = config::Sections::kAll) {
  auto loaded = config::load_file(file, cfg, sections);
  if (!loaded) {
    for (const auto& e : loaded.error()) errors.push_back(e.to_string());
    return;
  }
  cfg = std::move(*loaded);
}

template <class T, class Parse>
void flag(const std::string& name, const std::string& value, T& target, Parse parse,
          std::vector<std::string>& errors) {
  if (value.empty()) return;
  auto parsed = parse(value);
  if (!parsed) {
    errors.push_back(fmt::format("--{} {}: {}", name, value, parsed.error().message));
    return;
  }
  target = *parsed;
}

}  // namespace

boost::system::result<config::Config, std::vector<std::string>> assemble(const Flags& flags) {
  config::Config cfg;
  std::vector<std::string> errors;
  // Whether a path is there to read; one that cannot even be looked at (a directory without
  // search permission on the way) counts as there, so reading it says why it cannot be read.
  auto present = [](const fs::path& path) {
    std::error_code ec;
    const bool exists = fs::exists(path, ec);
    return exists || (ec && ec != std::errc::no_such_file_or_directory);
  };
  fs::path config_dir = "/etc/prisn";
  if (!flags.config.empty()) {
    if (!present(flags.config)) {
      return std::vector<std::string>{fmt::format("--config {}: no such file", flags.config)};
    }
    apply_file(flags.config, cfg, errors);
    config_dir = fs::path(flags.config).parent_path();
  } else if (present("/etc/prisn/config.yaml")) {
    apply_file("/etc/prisn/config.yaml", cfg, errors);
  }
  // The seed's proxy.yaml holds the proxy section: beside the config file, else in /etc/prisn.
  if (const fs::path proxy = config_dir / "proxy.yaml"; present(proxy)) {
    apply_file(proxy, cfg, errors, config::Sections::kProxyOnly);
  } else if (present("/etc/prisn/proxy.yaml")) {
    apply_file("/etc/prisn/proxy.yaml", cfg, errors, config::Sections::kProxyOnly);
  }
  // Absolute: a workload runs in a directory of its own and is given paths under this one.
  std::error_code cwd_error;
  cfg.data_dir = fs::absolute(flags.data_dir.empty() ? default_data_dir() : flags.data_dir, cwd_error).lexically_normal();
  if (!cfg.data_dir.has_filename() && cfg.data_dir != cfg.data_dir.root_path()) cfg.data_dir = cfg.data_dir.parent_path();
  if (cwd_error) errors.push_back(fmt::format("--data-dir {}: {}", flags.data_dir, cwd_error.message()));
  flag("api", flags.api, cfg.api.listen, config::parse_listen, errors);
  flag("dns", flags.dns, cfg.dns.listen, config::parse_listen, errors);
  flag("http", flags.http, cfg.proxy.http, config::parse_listen, errors);
  if (!flags.https.empty()) {
    auto https = config::parse_listen(flags.https);
    if (!https) errors.push_back(fmt::format("--https {}: {}", flags.https, https.error().message));
    else cfg.proxy.https.listen = *https;
  }
  flag("tcp-ports", flags.tcp_ports, cfg.proxy.tcp_ports, config::parse_port_range, errors);
  if (!flags.network.empty()) {
    if (flags.network == "host") cfg.network.mode = config::NetworkMode::kHost;
    else if (flags.network == "bridge") cfg.network.mode = config::NetworkMode::kBridge;
    else errors.push_back(fmt::format("--network {}: expected host or bridge", flags.network));
  }
  if (!flags.log_level.empty()) cfg.log_level = flags.log_level;
  if (!cfg.api.listen.enabled) {
    errors.push_back("--api off: the REST API cannot be turned off");
  }
  if (!errors.empty()) return errors;
  return cfg;
}

}  // namespace prisn::daemon
