// SPDX-License-Identifier: MIT
#include "prisn/config/reload.hpp"

namespace prisn::config {
namespace {

bool same(const ListenAddress& a, const ListenAddress& b) { return a.to_string() == b.to_string(); }

bool same(const std::optional<ListenAddress>& a, const std::optional<ListenAddress>& b) {
  return a.has_value() == b.has_value() && (!a || same(*a, *b));
}

}  // namespace

std::vector<std::string> restart_only_changes(const Config& running, const Config& next) {
  std::vector<std::string> keys;
  auto check = [&keys](bool unchanged, const char* key) {
    if (!unchanged) keys.emplace_back(key);
  };
  check(same(running.api.listen, next.api.listen), "api.listen");
  check(same(running.dns.listen, next.dns.listen), "dns.listen");
  check(running.dns.domain == next.dns.domain, "dns.domain");
  check(running.dns.upstreams == next.dns.upstreams, "dns.upstreams");
  check(same(running.proxy.http, next.proxy.http), "proxy.http");
  check(same(running.proxy.https.listen, next.proxy.https.listen), "proxy.https");
  check(running.proxy.tcp_enabled == next.proxy.tcp_enabled && running.proxy.tcp_ports.first == next.proxy.tcp_ports.first &&
            running.proxy.tcp_ports.last == next.proxy.tcp_ports.last,
        "proxy.tcp");
  check(running.proxy.publish_address == next.proxy.publish_address, "proxy.publishAddress");
  check(running.proxy.workers == next.proxy.workers, "proxy.workers");
  const auto& a = running.acme;
  const auto& b = next.acme;
  check(a.enabled == b.enabled && a.email == b.email && a.staging == b.staging && a.directory == b.directory &&
            a.ca_file == b.ca_file,
        "tls.acme");
  const auto& n = running.network;
  const auto& m = next.network;
  check(n.mode == m.mode && n.subnet == m.subnet && n.overlay_enabled == m.overlay_enabled &&
            n.overlay_type == m.overlay_type && n.overlay_subnet == m.overlay_subnet,
        "network");
  return keys;
}

}  // namespace prisn::config
