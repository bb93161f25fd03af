// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "prisn/core/error.hpp"

namespace prisn::config {

/// "HOST:PORT" or "off". Port 0 asks the kernel for a free port.
struct ListenAddress {
  bool enabled = true;
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;

  std::string to_string() const;  ///< "127.0.0.1:7331", "[::1]:53" or "off"
};

/// Parses "HOST:PORT", "[V6]:PORT", ":PORT" (all addresses) or "off".
Result<ListenAddress> parse_listen(std::string_view text);

/// Checks a DNS upstream: "IP", "IP:PORT", "[IPV6]:PORT" or a bare IPv6 address.
Result<void> check_upstream(std::string_view text);
/// Checks a DNS domain: dot-separated labels of 1 to 63 characters, 253 in all.
Result<void> check_domain(std::string_view text);

struct PortRange {
  std::uint16_t first = 9000;
  std::uint16_t last = 9999;
};
/// Parses "LO-HI" with 1 <= LO <= HI <= 65535.
Result<PortRange> parse_port_range(std::string_view text);

enum class ApiAuth { kLoopback, kRequired };
enum class NetworkMode { kHost, kBridge };

struct ApiOptions {
  ListenAddress listen{true, "127.0.0.1", 7331};
  ApiAuth auth = ApiAuth::kLoopback;
  std::size_t body_limit = 8 * 1024 * 1024;
};

struct DnsOptions {
  ListenAddress listen{true, "127.0.0.1", 53};
  std::string domain = "prisn.local";
  std::vector<std::string> upstreams;  ///< empty = nameservers from /etc/resolv.conf
  std::uint32_t ttl = 5;
};

struct HttpsOptions {
  std::optional<ListenAddress> listen;  ///< unset = on only when a certificate source exists
  std::string cert;
  std::string key;
};

struct ProxyOptions {
  ListenAddress http{true, "0.0.0.0", 80};
  HttpsOptions https;
  bool tcp_enabled = true;
  PortRange tcp_ports;
  std::string publish_address = "0.0.0.0";
  std::size_t workers = 0;  ///< L7 router threads, and as many L4 proxy threads; 0 = one per core, at most 4
};

struct AcmeOptions {
  bool enabled = false;
  std::string email;
  bool staging = false;
  std::string directory;  ///< empty: Let's Encrypt (its staging directory with `staging`)
  std::string ca_file;    ///< a CA to trust for the ACME server (test servers such as pebble)
};

struct NetworkOptions {
  std::optional<NetworkMode> mode;  ///< unset = bridge when privileged, else host (start_network)
  std::string subnet = "10.209.0.0/16";
  bool overlay_enabled = false;
  std::string overlay_type = "wireguard";
  std::string overlay_subnet = "10.100.0.0/16";
};

/// Supervisor knobs that SPEC §6 gives defaults for.
struct SupervisorOptions {
  std::chrono::milliseconds stop_grace{10'000};  ///< SIGTERM → SIGKILL
  std::size_t execution_history = 100;           ///< executions kept per deployment
  std::uint64_t log_max_bytes = 10 * 1024 * 1024;
  bool cron_catch_up = false;  ///< one catch-up run for ticks missed while prisnd was down
};

/// The whole daemon configuration. Only daemon/ sees it; modules take their own Options.
struct Config {
  std::filesystem::path data_dir;  ///< from --data-dir or the default for the user
  ApiOptions api;
  DnsOptions dns;
  ProxyOptions proxy;
  AcmeOptions acme;
  NetworkOptions network;
  SupervisorOptions supervisor;
  std::string log_level = "info";
};

/// One problem in a config file: `key` is the dotted path ("proxy.http.port").
struct ConfigError {
  std::string key;
  std::string file;
  int line = 0;  ///< 1-based; 0 when unknown
  std::string message;

  std::string to_string() const;  ///< "config.yaml:5: proxy.http.port: expected an integer"
};

/// Which sections a config file may hold: all of them (config.yaml), or the proxy section
/// alone (the seed's proxy.yaml, SPEC §2), where another key would quietly override the
/// config file's.
enum class Sections { kAll, kProxyOnly };

/// Reads `file` on top of `base`: every key optional, unknown keys and wrong types are
/// errors; all errors are returned, not just the first.
boost::system::result<Config, std::vector<ConfigError>> load_file(const std::filesystem::path& file,
                                                                  Config base, Sections sections = Sections::kAll);

/// The same from YAML text (for tests); `file_label` names it in errors.
boost::system::result<Config, std::vector<ConfigError>> load_text(std::string_view yaml,
                                                                  const std::string& file_label,
                                                                  Config base, Sections sections = Sections::kAll);

}  // namespace prisn::config
