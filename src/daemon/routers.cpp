// SPDX-License-Identifier: MIT
#include "daemon/routers.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "daemon/bind_error.hpp"
#include "prisn/core/files.hpp"
#include "prisn/model/ingress.hpp"

namespace prisn::daemon {
namespace {

// Some certificate is configured or stored: HTTPS defaults to on (SPEC §2).
bool any_certificate_source(const config::Config& cfg, const store::Store& store) {
  if (!cfg.proxy.https.cert.empty() || cfg.acme.enabled) return true;
  for (const auto* rec : store.list_resources("Ingress", "")) {
    if (rec->spec.contains("tls") && rec->spec["tls"].is_array() && !rec->spec["tls"].empty()) return true;
  }
  for (const auto* rec : store.list_deployments("")) {
    if (rec->spec.expose.tls) return true;
  }
  return false;
}

}  // namespace

Result<std::optional<proxy::Certificate>> config_certificate(const config::Config& cfg) {
  const auto& https = cfg.proxy.https;
  // HTTPS turned off (`--https off`, `enabled: false`) serves no certificate: its files are
  // neither needed nor read.
  const bool off = https.listen && !https.listen->enabled;
  if (off || (https.cert.empty() && https.key.empty())) return std::optional<proxy::Certificate>();
  if (https.cert.empty() || https.key.empty()) {
    return Error::invalid("proxy.https: give both cert and key");
  }
  auto cert = read_file(https.cert);
  if (!cert) return Error::invalid(fmt::format("proxy.https.cert: cannot read {}: {}", https.cert, cert.error().message));
  auto key = read_file(https.key);
  if (!key) return Error::invalid(fmt::format("proxy.https.key: cannot read {}: {}", https.key, key.error().message));
  return std::optional<proxy::Certificate>(
      proxy::Certificate{fmt::format("proxy.https (cert {}, key {})", https.cert, https.key), *cert, *key, {}, {}});
}

std::size_t proxy_workers(const config::Config& cfg) {
  return cfg.proxy.workers != 0 ? cfg.proxy.workers : std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 4);
}

Result<Routers> bind_routers(const config::Config& cfg, const store::Store& store, spdlog::logger& log) {
  Routers out;
  const auto& http = cfg.proxy.http;
  const config::ListenAddress https = cfg.proxy.https.listen.value_or(
      config::ListenAddress{any_certificate_source(cfg, store), "0.0.0.0", 443});
  if (!http.enabled && !https.enabled) return out;
  proxy::HttpRouterOptions options;
  options.workers = proxy_workers(cfg);
  out.router = std::make_unique<proxy::HttpRouter>(options);
  if (http.enabled) {
    auto bound = out.router->listen(http.host, http.port);
    if (!bound) {
      return Error::unavailable(bind_error(http, bound.error().message, "http"));
    }
    out.http = *bound;
  }
  if (https.enabled) {
    out.tls = std::make_shared<proxy::TlsStore>();
    auto bound = out.router->listen(https.host, https.port, out.tls);
    if (!bound) {
      return Error::unavailable(bind_error(https, bound.error().message, "https"));
    }
    out.https = *bound;
  }
  log.info("L7 router: HTTP {}, HTTPS {} ({} workers)", out.http.empty() ? "off" : out.http,
           out.https.empty() ? "off" : out.https, options.workers);
  return out;
}

}  // namespace prisn::daemon
