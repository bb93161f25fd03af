// SPDX-License-Identifier: MIT
// The L7 router's listeners: HTTP on --http, HTTPS on --https (SPEC §2, §7.5).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "prisn/config/config.hpp"
#include "prisn/proxy/http_router.hpp"
#include "prisn/proxy/tls_store.hpp"
#include "prisn/store/store.hpp"

namespace spdlog {
class logger;
}

namespace prisn::daemon {

struct Routers {
  std::unique_ptr<proxy::HttpRouter> router;  ///< null when HTTP and HTTPS are both off
  std::shared_ptr<proxy::TlsStore> tls;       ///< null when HTTPS is off
  std::string http;                           ///< bound address, "" when off
  std::string https;
};

/// Threads for the L7 router, and as many for the L4 proxy: proxy.workers, else one per
/// core, at most 4.
std::size_t proxy_workers(const config::Config& cfg);

/// Binds the HTTP and HTTPS listeners (not started yet). HTTPS is on when --https or the
/// config says so, or by default when any certificate source exists: the config file's
/// certificate, ACME, or an ingress or deployment with TLS in the store.
Result<Routers> bind_routers(const config::Config& cfg, const store::Store& store, spdlog::logger& log);

/// The config file's certificate (proxy.https.cert and .key), read now; nullopt without one.
Result<std::optional<proxy::Certificate>> config_certificate(const config::Config& cfg);

}  // namespace prisn::daemon
