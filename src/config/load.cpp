// SPDX-License-Identifier: MIT
// YAML config loading: every key optional, every unknown key or wrong type reported with its
// dotted path, file and line; all errors gathered before the file is rejected.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <arpa/inet.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "prisn/config/config.hpp"
#include "prisn/core/duration.hpp"
#include "prisn/network/subnet.hpp"

namespace prisn::config {

std::string ConfigError::to_string() const {
  std::string where = file;
  if (line > 0) {
    where += ":" + std::to_string(line);
  }
  if (key.empty()) return fmt::format("{}: {}", where, message);  // the document itself
  return fmt::format("{}: {}: {}", where, key, message);
}

namespace {

class Reader {
 public:
  Reader(std::string file, std::vector<ConfigError>& errors) : file_(std::move(file)), errors_(errors) {}

  void fail(const YAML::Node& node, const std::string& key, std::string message) {
    const int line = node.IsDefined() ? node.Mark().line + 1 : 0;
    errors_.push_back({key, file_, line, std::move(message)});
  }

  using Handler = std::function<void(const YAML::Node&, const std::string&)>;

  /// Calls the handler of each key present in `map`; unknown keys are errors.
  void section(const YAML::Node& map, const std::string& prefix,
               const std::map<std::string, Handler>& handlers) {
    if (!map.IsMap()) {
      if (!map.IsNull()) {
        fail(map, prefix, "expected a mapping");
      }
      return;
    }
    std::set<std::string> seen;
    for (const auto& entry : map) {
      const auto key = entry.first.as<std::string>();
      const std::string path = prefix.empty() ? key : prefix + "." + key;
      if (!seen.insert(key).second) {  // YAML forbids it; yaml-cpp would let the last one win
        fail(entry.first, path, "duplicate key");
        continue;
      }
      auto it = handlers.find(key);
      if (it == handlers.end()) {
        fail(entry.first, path, "unknown key");
        continue;
      }
      it->second(entry.second, path);
    }
  }

  void scalar(const YAML::Node& n, const std::string& key, std::string& out) {
    if (!n.IsScalar()) {
      fail(n, key, "expected a string");
      return;
    }
    out = n.Scalar();
  }

  /// A string that must be one of `allowed`.
  void one_of(const YAML::Node& n, const std::string& key, std::string& out, std::initializer_list<std::string_view> allowed) {
    std::string value;
    scalar(n, key, value);
    if (!n.IsScalar()) return;
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
      fail(n, key, fmt::format("expected one of {}", fmt::join(allowed, ", ")));
      return;
    }
    out = std::move(value);
  }

  void boolean(const YAML::Node& n, const std::string& key, bool& out) {
    bool value = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, value)) {
      fail(n, key, "expected true or false");
      return;
    }
    out = value;
  }

  template <class Int>
  void integer(const YAML::Node& n, const std::string& key, Int& out, long long lo, long long hi) {
    long long value = 0;
    if (!n.IsScalar() || !YAML::convert<long long>::decode(n, value)) {
      fail(n, key, "expected an integer");
      return;
    }
    if (value < lo || value > hi) {
      fail(n, key, fmt::format("must be between {} and {}", lo, hi));
      return;
    }
    out = static_cast<Int>(value);
  }

  template <class T, class Parse>
  void parsed(const YAML::Node& n, const std::string& key, T& out, Parse parse) {
    std::string text;
    if (!n.IsScalar()) {
      fail(n, key, "expected a string");
      return;
    }
    auto r = parse(n.Scalar());
    if (!r) {
      fail(n, key, r.error().message);
      return;
    }
    out = *r;
  }

 private:
  std::string file_;
  std::vector<ConfigError>& errors_;
};

void read_api(Reader& r, const YAML::Node& n, const std::string& p, ApiOptions& api) {
  r.section(n, p, {
      {"listen", [&](auto& v, auto& k) { r.parsed(v, k, api.listen, parse_listen); }},
      {"auth", [&](auto& v, auto& k) {
         std::string mode;
         r.scalar(v, k, mode);
         if (mode == "loopback") api.auth = ApiAuth::kLoopback;
         else if (mode == "required") api.auth = ApiAuth::kRequired;
         else if (v.IsScalar()) r.fail(v, k, "expected 'loopback' or 'required'");
       }},
      {"bodyLimit", [&](auto& v, auto& k) { r.integer(v, k, api.body_limit, 1024, 1LL << 32); }},
  });
}

void read_dns(Reader& r, const YAML::Node& n, const std::string& p, DnsOptions& dns) {
  r.section(n, p, {
      {"listen", [&](auto& v, auto& k) { r.parsed(v, k, dns.listen, parse_listen); }},
      {"domain", [&](auto& v, auto& k) {
         r.scalar(v, k, dns.domain);
         if (auto ok = check_domain(dns.domain); v.IsScalar() && !ok) r.fail(v, k, ok.error().message);
       }},
      {"ttl", [&](auto& v, auto& k) { r.integer(v, k, dns.ttl, 0, 86400); }},
      {"upstreams", [&](auto& v, auto& k) {
         if (!v.IsSequence()) {
           r.fail(v, k, "expected a list of \"host\" or \"host:port\"");
           return;
         }
         dns.upstreams.clear();
         for (std::size_t i = 0; i < v.size(); ++i) {
           std::string u;
           const auto key = fmt::format("{}[{}]", k, i);
           r.scalar(v[i], key, u);
           if (auto ok = check_upstream(u); v[i].IsScalar() && !ok) r.fail(v[i], key, ok.error().message);
           dns.upstreams.push_back(u);
         }
       }},
  });
}

void read_listener_port(Reader& r, const YAML::Node& n, const std::string& p, ListenAddress& addr,
                        std::string* cert, std::string* key) {
  std::map<std::string, Reader::Handler> handlers = {
      {"port", [&](auto& v, auto& k) { r.integer(v, k, addr.port, 0, 65535); }},
      {"enabled", [&](auto& v, auto& k) { r.boolean(v, k, addr.enabled); }},
      {"listen", [&](auto& v, auto& k) { r.parsed(v, k, addr, parse_listen); }},
  };
  if (cert != nullptr) {
    handlers["cert"] = [&, cert](auto& v, auto& k) { r.scalar(v, k, *cert); };
    handlers["key"] = [&, key](auto& v, auto& k) { r.scalar(v, k, *key); };
  }
  r.section(n, p, handlers);
}

void read_proxy(Reader& r, const YAML::Node& n, const std::string& p, ProxyOptions& proxy) {
  r.section(n, p, {
      {"http", [&](auto& v, auto& k) { read_listener_port(r, v, k, proxy.http, nullptr, nullptr); }},
      {"https", [&](auto& v, auto& k) {
         ListenAddress addr = proxy.https.listen.value_or(ListenAddress{true, "0.0.0.0", 443});
         read_listener_port(r, v, k, addr, &proxy.https.cert, &proxy.https.key);
         proxy.https.listen = addr;
         if (proxy.https.cert.empty() != proxy.https.key.empty()) {
           r.fail(v, k + (proxy.https.cert.empty() ? ".cert" : ".key"),
                  "give both cert and key (a certificate and its private key, PEM files)");
         }
       }},
      {"tcp", [&](auto& v, auto& k) {
         r.section(v, k, {
             {"enabled", [&](auto& v2, auto& k2) { r.boolean(v2, k2, proxy.tcp_enabled); }},
             {"portRange", [&](auto& v2, auto& k2) { r.parsed(v2, k2, proxy.tcp_ports, parse_port_range); }},
         });
       }},
      {"publishAddress", [&](auto& v, auto& k) {
         r.scalar(v, k, proxy.publish_address);
         in_addr v4{};
         in6_addr v6{};
         const auto& a = proxy.publish_address;
         if (v.IsScalar() && ::inet_pton(AF_INET, a.c_str(), &v4) != 1 && ::inet_pton(AF_INET6, a.c_str(), &v6) != 1) {
           r.fail(v, k, fmt::format("'{}' is not an IP address (0.0.0.0 publishes on every address)", a));
         }
       }},
      {"workers", [&](auto& v, auto& k) { r.integer(v, k, proxy.workers, 0, 64); }},
  });
}

void read_tls(Reader& r, const YAML::Node& n, const std::string& p, AcmeOptions& acme) {
  r.section(n, p, {
      {"acme", [&](auto& v, auto& k) {
         r.section(v, k, {
             {"enabled", [&](auto& v2, auto& k2) { r.boolean(v2, k2, acme.enabled); }},
             {"email", [&](auto& v2, auto& k2) {
                r.scalar(v2, k2, acme.email);
                if (v2.IsScalar() && acme.email.find('@') == std::string::npos) {
                  r.fail(v2, k2, "expected an email address (admin@example.com)");
                }
              }},
             {"staging", [&](auto& v2, auto& k2) { r.boolean(v2, k2, acme.staging); }},
             {"directory", [&](auto& v2, auto& k2) {
                r.scalar(v2, k2, acme.directory);
                if (v2.IsScalar() && !acme.directory.starts_with("https://") && !acme.directory.starts_with("http://")) {
                  r.fail(v2, k2, fmt::format("'{}' is not an ACME directory URL (https://...)", acme.directory));
                }
              }},
             {"caFile", [&](auto& v2, auto& k2) { r.scalar(v2, k2, acme.ca_file); }},
         });
       }},
  });
}

// A CIDR subnet, checked as the bridge will take it, kept as written.
Result<std::string> subnet_text(std::string_view text) {
  auto subnet = network::Subnet::parse(text);
  if (!subnet) return subnet.error();
  return std::string(text);
}

void read_network(Reader& r, const YAML::Node& n, const std::string& p, NetworkOptions& net) {
  r.section(n, p, {
      {"mode", [&](auto& v, auto& k) {
         std::string mode;
         r.scalar(v, k, mode);
         if (mode == "host") net.mode = NetworkMode::kHost;
         else if (mode == "bridge") net.mode = NetworkMode::kBridge;
         else if (v.IsScalar()) r.fail(v, k, "expected 'host' or 'bridge'");
       }},
      {"subnet", [&](auto& v, auto& k) { r.parsed(v, k, net.subnet, subnet_text); }},
      {"overlay", [&](auto& v, auto& k) {
         r.section(v, k, {
             {"enabled", [&](auto& v2, auto& k2) { r.boolean(v2, k2, net.overlay_enabled); }},
             {"type", [&](auto& v2, auto& k2) {
                r.scalar(v2, k2, net.overlay_type);
                // The seed's three kinds; none has an effect on one node, which prisnd says at start.
                const auto& t = net.overlay_type;
                if (v2.IsScalar() && t != "wireguard" && t != "vxlan" && t != "geneve") {
                  r.fail(v2, k2, "expected 'wireguard', 'vxlan' or 'geneve'");
                }
              }},
             {"subnet", [&](auto& v2, auto& k2) { r.parsed(v2, k2, net.overlay_subnet, subnet_text); }},
         });
       }},
  });
}

void read_supervisor(Reader& r, const YAML::Node& n, const std::string& p, SupervisorOptions& s) {
  auto millis = [](std::string_view t) { return parse_duration(t); };
  r.section(n, p, {
      {"stopGracePeriod", [&](auto& v, auto& k) { r.parsed(v, k, s.stop_grace, millis); }},
      {"executionHistory", [&](auto& v, auto& k) { r.integer(v, k, s.execution_history, 1, 100000); }},
      {"logMaxBytes", [&](auto& v, auto& k) { r.integer(v, k, s.log_max_bytes, 4096, 1LL << 40); }},
      {"cronCatchUp", [&](auto& v, auto& k) { r.boolean(v, k, s.cron_catch_up); }},
  });
}

void read_root(Reader& r, const YAML::Node& root, Config& cfg, Sections sections) {
  std::map<std::string, Reader::Handler> handlers = {
      {"api", [&](auto& v, auto& k) { read_api(r, v, k, cfg.api); }},
      {"dns", [&](auto& v, auto& k) { read_dns(r, v, k, cfg.dns); }},
      {"proxy", [&](auto& v, auto& k) { read_proxy(r, v, k, cfg.proxy); }},
      {"tls", [&](auto& v, auto& k) { read_tls(r, v, k, cfg.acme); }},
      {"network", [&](auto& v, auto& k) { read_network(r, v, k, cfg.network); }},
      {"supervisor", [&](auto& v, auto& k) { read_supervisor(r, v, k, cfg.supervisor); }},
      {"logLevel", [&](auto& v, auto& k) { r.one_of(v, k, cfg.log_level, {"trace", "debug", "info", "warn", "error"}); }},
  };
  if (sections == Sections::kProxyOnly) {
    for (auto& [key, handler] : handlers) {
      if (key == "proxy") continue;
      handler = [&r](const YAML::Node& v, const std::string& k) {
        r.fail(v, k, "proxy.yaml holds only the proxy section; put " + k + " in the config file");
      };
    }
  }
  r.section(root, "", handlers);
}

}  // namespace

boost::system::result<Config, std::vector<ConfigError>> load_text(std::string_view yaml,
                                                                  const std::string& file_label,
                                                                  Config base, Sections sections) {
  std::vector<ConfigError> errors;
  YAML::Node root;
  try {
    // LoadAll, not Load: a second document ("---") would otherwise go unread, unknown keys
    // and all.
    const auto documents = YAML::LoadAll(std::string(yaml));
    for (std::size_t i = 0; i < documents.size(); ++i) {
      if (i == 0) {
        root = documents[0];
      } else if (!documents[i].IsNull()) {
        errors.push_back({"(document)", file_label, documents[i].Mark().line + 1,
                          "a config file holds one YAML document; this is another"});
      }
    }
  } catch (const YAML::ParserException& e) {
    errors.push_back({"(syntax)", file_label, e.mark.line + 1, e.msg});
    return errors;
  }
  if (!errors.empty()) return errors;
  Reader reader(file_label, errors);
  try {
    read_root(reader, root, base, sections);
  } catch (const YAML::Exception& e) {
    errors.push_back({"(document)", file_label, e.mark.line + 1, e.msg});
  }
  if (!errors.empty()) {
    return errors;
  }
  return base;
}

boost::system::result<Config, std::vector<ConfigError>> load_file(const std::filesystem::path& file,
                                                                  Config base, Sections sections) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {  // it would open, read as empty and give the defaults
    return std::vector<ConfigError>{{"(file)", file.string(), 0, "is a directory, not a YAML file"}};
  }
  std::ifstream in(file);
  if (!in) {
    return std::vector<ConfigError>{{"(file)", file.string(), 0, "cannot be read"}};
  }
  std::stringstream text;
  text << in.rdbuf();
  return load_text(text.str(), file.string(), std::move(base), sections);
}

}  // namespace prisn::config
