// SPDX-License-Identifier: MIT
#include "daemon/daemon.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <filesystem>
#include <functional>
#include <set>
#include <thread>

#include "daemon/bind_error.hpp"
#include "daemon/options.hpp"
#include "daemon/routers.hpp"
#include "daemon/sd_notify.hpp"
#include "prisn/api/server.hpp"
#include "prisn/config/reload.hpp"
#include "prisn/control/controller.hpp"
#include "prisn/core/files.hpp"
#include "prisn/core/log.hpp"
#include "prisn/core/owner_lock.hpp"
#include "prisn/core/random.hpp"
#include "prisn/dns/resolv_conf.hpp"
#include "prisn/dns/server.hpp"
#include "prisn/logs/log_monitor.hpp"
#include "prisn/model/json.hpp"
#include "prisn/network/bridge.hpp"
#include "prisn/process/cgroups.hpp"
#include "prisn/process/watcher.hpp"
#include "prisn/proxy/l4_proxy.hpp"
#include "prisn/store/store.hpp"
#include "prisn/supervisor/environment.hpp"

namespace prisn::daemon {
namespace asio = boost::asio;
namespace fs = std::filesystem;

struct Daemon::Impl {
  config::Config config;  ///< as running: a reload updates what it applies
  Flags flags;            ///< a reload assembles the config again with the same flags
  std::shared_ptr<spdlog::logger> log = logger("daemon");
  asio::io_context control_io{1};
  asio::io_context data_io{1};
  std::thread data_thread;
  bool shutting_down = false;
};

namespace {

// The admin token (SPEC §4): created once, mode 0600, reused afterwards. Read again on SIGHUP,
// so that an operator rotates it by writing a new one (or removing the file) and reloading.
Result<std::string> admin_token(const supervisor::Paths& paths) {
  if (auto existing = read_file(paths.admin_token()); existing) {
    std::string token = *existing;
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    if (!token.empty()) {
      ::chmod(paths.admin_token().c_str(), 0600);
      return token;
    }
  }
  std::string token = random_hex(32);
  if (auto written = write_file_atomic(paths.admin_token(), token + "\n", 0600); !written) {
    return written.error();
  }
  return token;
}

std::string node_resolv_conf() {
  auto text = read_file("/etc/resolv.conf");
  return text ? *text : std::string();
}

// The address workloads on the node (and ns.DOMAIN) use for a listener of prisnd: its own,
// or loopback when it listens on every address.
std::string client_address(const config::ListenAddress& listen) {
  if (listen.host == "0.0.0.0" || listen.host.empty()) return "127.0.0.1";
  return listen.host;
}

/// Starts prisn DNS when it is on; returns the bound address ("" when off).
Result<std::string> start_dns(std::unique_ptr<dns::Server>& server, const config::Config& cfg,
                              asio::io_context& io, spdlog::logger& log) {
  if (!cfg.dns.listen.enabled) return std::string();
  dns::ServerOptions o;
  o.host = cfg.dns.listen.host;
  o.port = cfg.dns.listen.port;
  o.upstreams = cfg.dns.upstreams;
  if (o.upstreams.empty()) {
    o.upstreams = dns::upstreams_from_resolv_conf(node_resolv_conf(), cfg.dns.listen.to_string());
  }
  server = std::make_unique<dns::Server>(io, o);
  auto bound = server->start();
  if (!bound) {
    return Error::unavailable(bind_error(cfg.dns.listen, bound.error().message, "dns"));
  }
  const auto ups = server->upstreams();
  log.info("DNS on {} (udp+tcp) for {}; other names go to {}", *bound, cfg.dns.domain,
           ups.empty() ? std::string("no upstream (SERVFAIL)") : fmt::format("{}", fmt::join(ups, ", ")));
  return bound;
}

// As root with DNS on port 53, workloads get a resolv.conf pointing at prisn DNS (SPEC 7.1).
// In bridge mode it names the gateway, whose port 53 leads to prisn DNS on whatever port it
// listens. One file per namespace, written when its first workload starts: its search list
// begins with NS.DOMAIN and DOMAIN, so `api` and `api.default` resolve as in a Kubernetes pod.
std::function<std::filesystem::path(const std::string&)> workload_resolv_conf(const config::Config& cfg,
                                                                               const supervisor::Paths& paths,
                                                                               const network::Bridge* bridge) {
  if (!cfg.dns.listen.enabled || ::geteuid() != 0) return {};
  if (bridge == nullptr && cfg.dns.listen.port != 53) return {};
  const auto dir = paths.data_dir / "resolv";
  std::error_code gone;
  std::filesystem::remove(paths.data_dir / "resolv.conf", gone);  // one for every namespace, before 2026-12
  auto written = std::make_shared<std::set<std::string>>();
  return [dir, written, node = dns::parse_resolv_conf(node_resolv_conf()), domain = cfg.dns.domain,
          nameserver = bridge != nullptr ? bridge->gateway() : client_address(cfg.dns.listen)](const std::string& ns) {
    const auto file = dir / (ns + ".conf");
    if (written->contains(ns)) return file;
    const auto text = dns::render_workload_resolv_conf(node, nameserver, {ns + "." + domain, domain});
    auto made = make_dirs(dir, 0755);
    if (auto done = made ? write_file_atomic(file, text, 0644) : made; !done) {
      logger("daemon")->warn("workloads of namespace {} keep the node's resolv.conf: {}", ns, done.error().message);
      return std::filesystem::path();
    }
    written->insert(ns);
    return file;
  };
}

std::string api_url(const std::string& bound) {
  // Workloads reach the API on loopback when it listens on every address.
  std::string url = bound;
  if (url.starts_with("0.0.0.0:")) url = "127.0.0.1:" + url.substr(8);
  if (url.starts_with("[::]:")) url = "[::1]:" + url.substr(5);
  return "http://" + url;
}

// Where a port of the bridge's gateway leads (bridge mode): the listener bound at `bound`,
// when it is on and listens on IPv4.
network::Destination gateway_destination(const std::string& bound) {
  auto listen = config::parse_listen(bound);
  if (bound.empty() || !listen) return {};
  auto address = network::parse_ipv4(client_address(*listen));
  if (!address) return {};
  return {*address, listen->port};
}

// PRISN_API for instances in bridge mode (SPEC §6.2: a URL the process can reach): the
// gateway's port of the API's number, redirected to the API.
void reach_api_from_bridge(network::Bridge& bridge, const std::string& api_bound, supervisor::Options& options,
                           spdlog::logger& log) {
  const auto api = gateway_destination(api_bound);
  if (api.address == 0) {
    log.warn("the API listens on {}, which instances in bridge mode cannot reach: their PRISN_API is {}", api_bound,
             options.api_url);
    return;
  }
  if (auto redirected = bridge.redirect_api(api); !redirected) {
    log.warn("instances in bridge mode cannot reach the API: {}", redirected.error().message);
    return;
  }
  options.bridge_api_url = fmt::format("http://{}:{}", bridge.gateway(), api.port);
}

// The network mode (SPEC §2, §7.1); null = host mode. Unless a mode is asked for, bridge
// when privileged, else host; a bridge that cannot be set up then (no nftables, another
// prisnd owns prisn0) leaves prisnd in host mode with a warning rather than not starting.
Result<std::unique_ptr<network::Bridge>> start_network(const config::Config& cfg, const std::string& dns_bound,
                                                       spdlog::logger& log) {
  auto subnet = network::Subnet::parse(cfg.network.subnet);  // checked in either mode
  if (!subnet) return Error::invalid("network.subnet: " + subnet.error().message);
  if (cfg.network.overlay_enabled) {  // one node: beyond it, prisn renders to Kubernetes (SPEC §9)
    log.warn("network.overlay.enabled: prisn has no overlay network between nodes; the setting has no effect "
             "(for more than one node, render the apps for Kubernetes with `prisn k8s render`)");
  }
  const bool asked = cfg.network.mode.has_value();
  auto host_mode = [&] {
    log.info("network: host mode (instances share the node's network)");
    return std::unique_ptr<network::Bridge>();
  };
  if (cfg.network.mode == config::NetworkMode::kHost) return host_mode();
  if (!network::Bridge::privileged()) {
    if (!asked) return host_mode();
    return Error::invalid("--network bridge needs root with CAP_NET_ADMIN; use --network host");
  }
  auto bridge = network::Bridge::setup(*subnet, gateway_destination(dns_bound));
  if (!bridge && !asked) {
    log.warn("network: cannot set up bridge mode, the default as root: {}; running in host mode "
             "(pass --network host to choose it)", bridge.error().message);
    return host_mode();
  }
  if (!bridge) return Error::unavailable("--network bridge: " + bridge.error().message);
  log.info("network: bridge mode on {} ({}, gateway {}); network policies {}", network::Bridge::kName,
           subnet->cidr(), (*bridge)->gateway(), (*bridge)->can_filter() ? "enforced" : "NOT enforced");
  return std::move(*bridge);
}

/// What a reload reaches in the running daemon.
struct Reloadable {
  const supervisor::Paths& paths;
  std::string admin_token;  ///< as the API accepts it now
  api::Server& api;
  control::Controller& controller;
  supervisor::Options& supervisor;
};

// SIGHUP (SPEC §2): the config is assembled again, with the same flags. What a running
// prisnd can change, changes; a changed key that only a restart applies keeps its running
// value and is named in a warning, so that the log never claims more than was done.
void reload(const Flags& flags, config::Config& running, Reloadable& to, spdlog::logger& log) {
  log.info("SIGHUP: reloading configuration");
  auto next = assemble(flags);
  if (!next) {
    for (const auto& e : next.error()) log.error("reload failed, keeping the running configuration: {}", e);
    return;
  }
  auto cert = config_certificate(*next);
  if (!cert) {
    log.error("reload failed, keeping the running configuration: {}", cert.error().message);
    return;
  }
  auto token = admin_token(to.paths);
  if (!token) {
    log.error("reload failed, keeping the running configuration: admin token: {}", token.error().message);
    return;
  }
  if (!init_logging(next->log_level)) {
    log.error("reload failed, keeping the running configuration: log level {}", next->log_level);
    return;
  }
  if (*token != to.admin_token) {
    log.info("reload: the admin token changed ({}); requests with the old one are refused from now on",
             to.paths.admin_token().string());
    to.admin_token = *token;
  }
  running.log_level = next->log_level;
  to.api.reconfigure(next->api.auth, next->api.body_limit, to.admin_token);
  running.api.auth = next->api.auth;
  running.api.body_limit = next->api.body_limit;
  to.controller.set_dns_ttl(next->dns.ttl);
  running.dns.ttl = next->dns.ttl;
  to.controller.set_config_certificate(*cert);  // new handshakes use it; open connections keep theirs
  running.proxy.https.cert = next->proxy.https.cert;
  running.proxy.https.key = next->proxy.https.key;
  to.supervisor.stop_grace = next->supervisor.stop_grace;
  to.supervisor.execution_history = next->supervisor.execution_history;
  to.supervisor.log_max_bytes = next->supervisor.log_max_bytes;
  to.supervisor.cron_catch_up = next->supervisor.cron_catch_up;
  running.supervisor = next->supervisor;
  const auto pending = config::restart_only_changes(running, *next);
  if (!pending.empty()) {
    log.warn("reload: {} changed; that takes effect when prisnd restarts", fmt::join(pending, ", "));
  }
  log.info("configuration reloaded (log level {}, api.auth {}, dns.ttl {})", running.log_level,
           running.api.auth == config::ApiAuth::kRequired ? "required" : "loopback", running.dns.ttl);
}

}  // namespace

Daemon::Daemon(config::Config config, Flags flags) : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  impl_->flags = std::move(flags);
}

Daemon::~Daemon() = default;

int Daemon::run() {
  auto& d = *impl_;
  auto& log = *d.log;
  const auto& cfg = d.config;
  const supervisor::Paths paths{cfg.data_dir};
  for (const auto& dir : {paths.data_dir, paths.data_dir / "logs", paths.data_dir / "runs"}) {
    if (auto made = make_dirs(dir, 0700); !made) {
      log.error("data directory: {}", made.error().message);
      return 1;
    }
  }
  // Two prisnds on one data directory would both run its instances and write its database.
  auto owner = OwnerLock::acquire(paths.data_dir / "prisnd.lock", "data directory " + paths.data_dir.string());
  if (!owner) {
    log.error("{}", owner.error().message);
    return 1;
  }
  // A listen.json left by an earlier prisnd (killed, or stopped before this fix) names ports
  // nobody listens on: a script waiting for the file must not read those.
  std::error_code stale;
  std::filesystem::remove(paths.listen_json(), stale);
  auto store = store::Store::open(paths.state_db(), paths.secret_key());
  if (!store) {
    log.error("{}", store.error().message);
    return 1;
  }
  auto token = admin_token(paths);
  if (!token) {
    log.error("admin token: {}", token.error().message);
    return 1;
  }
  std::unique_ptr<dns::Server> dns_server;
  auto dns_bound = start_dns(dns_server, cfg, d.data_io, log);
  if (!dns_bound) {
    log.error("{}", dns_bound.error().message);
    return 1;
  }
  auto bridge = start_network(cfg, *dns_bound, log);
  if (!bridge) {
    log.error("{}", bridge.error().message);
    return 1;
  }
  // A start that fails from here on removes the ruleset it installed, unless instances of an
  // earlier prisnd (killed) may still use it.
  struct RulesetUntilReady {
    network::Bridge* bridge;
    bool keep = false;
    ~RulesetUntilReady() {
      if (bridge != nullptr && !keep) bridge->teardown();
    }
  } ruleset_until_ready{bridge->get()};
  if (auto left = (*store)->load_instances(); !left || !left->empty()) ruleset_until_ready.keep = true;

  process::ProcessWatcher watcher(d.control_io.get_executor());
  watcher.start();
  const auto cgroups = process::Cgroups::detect(cfg.data_dir);
  log.info("process trees: {}", cgroups.description());
  logs::LogMonitor log_monitor(d.control_io.get_executor(), std::chrono::milliseconds(250));
  proxy::L4Proxy l4(proxy_workers(cfg));

  supervisor::Options sup;
  sup.stop_grace = cfg.supervisor.stop_grace;
  sup.execution_history = cfg.supervisor.execution_history;
  sup.log_max_bytes = cfg.supervisor.log_max_bytes;
  sup.cron_catch_up = cfg.supervisor.cron_catch_up;
  sup.base_env = supervisor::inherited_environment();
  const char* path_env = std::getenv("PATH");
  sup.path_env = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  sup.resolv_conf = workload_resolv_conf(cfg, paths, bridge->get());
  sup.dns_domain = cfg.dns.domain;
  supervisor::Context ctx{d.control_io.get_executor(), **store, watcher, cgroups, log_monitor, paths, sup,
                          bridge->get()};
  auto routers = bind_routers(cfg, **store, log);
  if (!routers) {
    log.error("{}", routers.error().message);
    return 1;
  }
  auto config_cert = config_certificate(cfg);
  if (config_cert && *config_cert) {
    // At start a configured pair that does not load is an error, as in nginx (HTTPS would
    // refuse every handshake); a SIGHUP that brings one keeps the pair that serves.
    if (auto loads = proxy::check_certificate(**config_cert); !loads) config_cert = loads.error();
  }
  if (!config_cert) {
    log.error("{}", config_cert.error().message);
    return 1;
  }
  // ACME calls back into the controller, which is built after it.
  control::Controller* controller_ref = nullptr;
  std::unique_ptr<acme::Manager> acme_manager;
  if (cfg.acme.enabled) {
    acme::Options ao;
    ao.directory = !cfg.acme.directory.empty() ? cfg.acme.directory
                                               : (cfg.acme.staging ? acme::kLetsEncryptStaging : acme::kLetsEncrypt);
    ao.email = cfg.acme.email;
    ao.ca_file = cfg.acme.ca_file;
    ao.dir = paths.data_dir / "acme";
    acme_manager = std::make_unique<acme::Manager>(d.control_io.get_executor(), ao, [&controller_ref]() {
      if (controller_ref != nullptr) controller_ref->on_acme_change();
    });
    if (auto prepared = acme_manager->prepare(); !prepared) {
      log.error("{}", prepared.error().message);
      return 1;
    }
    if (!cfg.proxy.http.enabled) {
      log.warn("tls.acme: the HTTP listener is off (--http off), so no HTTP-01 challenge can be answered "
               "here: certificates can be obtained only while something forwards port 80 to one");
    }
    log.info("ACME: certificates for ingress hosts from {}", ao.directory);
  }
  control::ControllerOptions copts;
  copts.acme = acme_manager.get();
  copts.http = routers->router.get();
  for (const auto& bound : {routers->http, routers->https}) {
    if (auto address = config::parse_listen(bound)) copts.router_ports.push_back(address->port);
  }
  copts.tls = routers->tls;
  copts.publish_address = cfg.proxy.publish_address;
  copts.tcp_ports = cfg.proxy.tcp_ports;
  copts.tcp_ports_enabled = cfg.proxy.tcp_enabled;
  copts.dns = dns_server.get();
  copts.dns_address = *dns_bound;
  copts.dns_zone.domain = cfg.dns.domain;
  copts.dns_zone.ttl = cfg.dns.ttl;
  boost::system::error_code not_v4;
  const auto ns_ip = asio::ip::make_address_v4(client_address(cfg.dns.listen), not_v4);
  if (!not_v4) copts.dns_zone.server_ip = ns_ip.to_bytes();
  control::Controller controller(ctx, l4, copts);
  controller_ref = &controller;

  api::ServerOptions api_options{cfg.api.auth, cfg.api.body_limit, *token, {}};
  if (*bridge) api_options.local_networks.push_back((*bridge)->subnet());
  api::Server server(d.control_io, controller, api_options);
  auto api_bound = server.listen(cfg.api.listen);
  if (!api_bound) {
    log.error("{}", bind_error(cfg.api.listen, api_bound.error().message, "api"));
    return 1;
  }
  ctx.options.api_url = api_url(*api_bound);
  if (*bridge) reach_api_from_bridge(**bridge, *api_bound, ctx.options, log);

  controller.set_config_certificate(*config_cert);
  // Signals are caught from here on: a SIGTERM right after READY=1 (or after listen.json
  // appears) is a graceful shutdown, not the default action.
  asio::signal_set signals(d.control_io, SIGTERM, SIGINT, SIGHUP);
  controller.start();
  if (routers->router) routers->router->start();
  auto bound_or_null = [](const std::string& s) { return s.empty() ? model::Json(nullptr) : model::Json(s); };
  model::Json listen = {{"api", *api_bound},
                        {"dns", bound_or_null(*dns_bound)},
                        {"http", bound_or_null(routers->http)},
                        {"https", bound_or_null(routers->https)}};
  if (auto written = write_file_atomic(paths.listen_json(), listen.dump() + "\n", 0644); !written) {
    log.error("{}", written.error().message);
    return 1;
  }
  d.data_thread = std::thread([&d]() {
    auto guard = asio::make_work_guard(d.data_io);
    d.data_io.run();
  });
  ruleset_until_ready.keep = true;
  log.info("prisnd {} ready: API {} (data in {})", PRISN_VERSION, *api_bound, cfg.data_dir.string());
  sd_notify("READY=1");

  Reloadable reloadable{paths, *token, server, controller, ctx.options};
  std::function<void()> wait_signal;
  wait_signal = [&]() {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload(d.flags, d.config, reloadable, log);
        wait_signal();
        return;
      }
      if (d.shutting_down) {
        log.warn("second {}: exiting now", sig == SIGINT ? "SIGINT" : "SIGTERM");
        d.control_io.stop();
        return;
      }
      d.shutting_down = true;
      log.info("{}: shutting down gracefully", sig == SIGINT ? "SIGINT" : "SIGTERM");
      sd_notify("STOPPING=1");
      server.stop();  // followed logs and event streams go on, to send the processes' last lines
      if (routers->router) routers->router->stop(std::chrono::seconds(5));  // drain: requests in flight finish
      controller.shutdown([&]() {
        log.info("every instance and execution has stopped; bye");
        if (*bridge) (*bridge)->teardown();  // nothing runs on it now
        server.end_streams([&]() { d.control_io.stop(); });
      });
      wait_signal();
    });
  };
  wait_signal();
  d.control_io.run();
  d.data_io.stop();
  if (d.data_thread.joinable()) d.data_thread.join();
  std::error_code gone;
  std::filesystem::remove(paths.listen_json(), gone);  // its listeners are closed
  return 0;
}

}  // namespace prisn::daemon
