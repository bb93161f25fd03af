// SPDX-License-Identifier: MIT
#include "daemon/daemon.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include <thread>

#include "daemon/options.hpp"
#include "daemon/sd_notify.hpp"
#include "prisn/api/server.hpp"
#include "prisn/control/controller.hpp"
#include "prisn/core/files.hpp"
#include "prisn/core/log.hpp"
#include "prisn/core/random.hpp"
#include "prisn/logs/log_monitor.hpp"
#include "prisn/model/json.hpp"
#include "prisn/process/cgroups.hpp"
#include "prisn/process/watcher.hpp"
#include "prisn/proxy/l4_proxy.hpp"
#include "prisn/store/store.hpp"
#include "prisn/supervisor/environment.hpp"

namespace prisn::daemon {
namespace asio = boost::asio;
namespace fs = std::filesystem;

struct Daemon::Impl {
  config::Config config;
  std::string config_file;
  std::shared_ptr<spdlog::logger> log = logger("daemon");
  asio::io_context control_io{1};
  asio::io_context data_io{1};
  std::thread data_thread;
  bool shutting_down = false;
};

namespace {

// The admin token (SPEC §4): created once, mode 0600, reused afterwards.
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

std::string bind_error(const std::string& what, const config::ListenAddress& addr, const std::string& reason,
                       const std::string& flag) {
  return fmt::format("cannot bind {} {}: {} (use --{} HOST:PORT{})", what, addr.to_string(), reason, flag,
                     flag == "api" ? "" : " or --" + flag + " off");
}

std::string api_url(const std::string& bound) {
  // Workloads reach the API on loopback when it listens on every address.
  std::string url = bound;
  if (url.starts_with("0.0.0.0:")) url = "127.0.0.1:" + url.substr(8);
  if (url.starts_with("[::]:")) url = "[::1]:" + url.substr(5);
  return "http://" + url;
}

config::NetworkMode choose_network(const config::Config& cfg, spdlog::logger& log) {
  if (cfg.network.mode == config::NetworkMode::kHost) {
    return config::NetworkMode::kHost;
  }
  if (!cfg.network.mode && ::geteuid() == 0) {
    log.warn("network: bridge mode (the default as root) is not available in this version; "
             "running in host mode");
  }
  return config::NetworkMode::kHost;
}

}  // namespace

Daemon::Daemon(config::Config config, std::string config_file) : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  impl_->config_file = std::move(config_file);
}

Daemon::~Daemon() = default;

int Daemon::run() {
  auto& d = *impl_;
  auto& log = *d.log;
  const auto& cfg = d.config;
  if (cfg.network.mode == config::NetworkMode::kBridge) {
    log.error("--network bridge: bridge networking is not available in this version; use --network host");
    return 2;
  }
  const supervisor::Paths paths{cfg.data_dir};
  for (const auto& dir : {paths.data_dir, paths.data_dir / "logs", paths.data_dir / "runs"}) {
    if (auto made = make_dirs(dir, 0700); !made) {
      log.error("data directory: {}", made.error().message);
      return 1;
    }
  }
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
  const auto network = choose_network(cfg, log);
  (void)network;

  process::ProcessWatcher watcher(d.control_io.get_executor());
  watcher.start();
  const auto cgroups = process::Cgroups::detect(cfg.data_dir);
  log.info("process trees: {}", cgroups.description());
  logs::LogMonitor log_monitor(d.control_io.get_executor(), std::chrono::milliseconds(250));
  proxy::L4Proxy l4(d.data_io);

  supervisor::Options sup;
  sup.stop_grace = cfg.supervisor.stop_grace;
  sup.execution_history = cfg.supervisor.execution_history;
  sup.log_max_bytes = cfg.supervisor.log_max_bytes;
  sup.cron_catch_up = cfg.supervisor.cron_catch_up;
  sup.base_env = supervisor::inherited_environment();
  const char* path_env = std::getenv("PATH");
  sup.path_env = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  supervisor::Context ctx{d.control_io.get_executor(), **store, watcher, cgroups, log_monitor, paths, sup};

  control::ControllerOptions copts;
  copts.publish_address = cfg.proxy.publish_address;
  copts.tcp_ports = cfg.proxy.tcp_ports;
  control::Controller controller(ctx, l4, copts);

  api::Server server(d.control_io, controller, {cfg.api.auth, cfg.api.body_limit, *token});
  auto api_bound = server.listen(cfg.api.listen);
  if (!api_bound) {
    log.error("{}", bind_error("the API on", cfg.api.listen, api_bound.error().message, "api"));
    return 1;
  }
  ctx.options.api_url = api_url(*api_bound);
  for (const auto& [name, listen] : {std::pair{"DNS", cfg.dns.listen}, std::pair{"HTTP router", cfg.proxy.http}}) {
    if (listen.enabled) {
      log.warn("{} on {}: not available in this version (see the project's open issues)", name, listen.to_string());
    }
  }

  controller.start();
  model::Json listen = {{"api", *api_bound}, {"dns", nullptr}, {"http", nullptr}, {"https", nullptr}};
  if (auto written = write_file_atomic(paths.listen_json(), listen.dump() + "\n", 0644); !written) {
    log.error("{}", written.error().message);
    return 1;
  }
  d.data_thread = std::thread([&d]() {
    auto guard = asio::make_work_guard(d.data_io);
    d.data_io.run();
  });
  log.info("prisnd {} ready: API {} (data in {})", PRISN_VERSION, *api_bound, cfg.data_dir.string());
  sd_notify("READY=1");

  asio::signal_set signals(d.control_io, SIGTERM, SIGINT, SIGHUP);
  std::function<void()> wait_signal;
  wait_signal = [&]() {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        log.info("SIGHUP: reloading configuration");
        auto reloaded = assemble(Flags{d.config_file, cfg.data_dir.string()});
        if (!reloaded) {
          for (const auto& e : reloaded.error()) log.error("reload failed, keeping the running configuration: {}", e);
        } else if (init_logging(reloaded->log_level)) {
          log.info("configuration reloaded (log level {})", reloaded->log_level);
        }
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
      server.stop();
      controller.shutdown([&]() {
        log.info("every instance and execution has stopped; bye");
        d.control_io.stop();
      });
      wait_signal();
    });
  };
  wait_signal();
  d.control_io.run();
  d.data_io.stop();
  if (d.data_thread.joinable()) d.data_thread.join();
  return 0;
}

}  // namespace prisn::daemon
