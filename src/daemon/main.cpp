// SPDX-License-Identifier: MIT
#include <malloc.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "daemon/daemon.hpp"
#include "daemon/options.hpp"
#include "prisn/core/log.hpp"

int main(int argc, char** argv) {
  // Few arenas keep the idle footprint small, but the router's workers (one per core) each
  // need their own: sharing one, they contend on its lock for every request.
  ::mallopt(M_ARENA_MAX, 8);
  ::signal(SIGPIPE, SIG_IGN);

  prisn::daemon::Flags flags;
  CLI::App app{"prisnd: the prisn node agent (runs jobs, cron jobs and services)", "prisnd"};
  // An empty value ("--data-dir $UNSET") is refused: taken as "not given", it would quietly
  // mean the system data dir, port 53 or bridge mode.
  const CLI::Validator not_empty([](const std::string& v) { return v.empty() ? std::string("must not be empty") : ""; },
                                 "", "not empty");
  // A flag given twice takes the last value, as most daemons do: a wrapper or a systemd
  // drop-in appends its override to the command line.
  const auto option = [&](const char* name, std::string& target, const char* help) {
    app.add_option(name, target, help)->check(not_empty)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  };
  option("--config", flags.config, "YAML config file (default /etc/prisn/config.yaml if it exists)");
  option("--data-dir", flags.data_dir, "state.db, logs/, runs/, secret.key, admin.token");
  option("--api", flags.api, "REST API listener HOST:PORT (default 127.0.0.1:7331)");
  option("--dns", flags.dns, "DNS listener HOST:PORT or off (default 127.0.0.1:53)");
  option("--http", flags.http, "L7 HTTP router HOST:PORT or off (default 0.0.0.0:80)");
  option("--https", flags.https, "TLS router HOST:PORT or off");
  option("--tcp-ports", flags.tcp_ports, "port range for TCP routes and --port auto (default 9000-9999)");
  option("--network", flags.network, "host or bridge (default: bridge as root with CAP_NET_ADMIN, else host)");
  option("--log-level", flags.log_level, "trace, debug, info, warn or error");
  bool version = false;
  app.add_flag("--version", version, "print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int printed = app.exit(e);  // --help prints and is 0; a bad flag is a usage error
    return printed == 0 ? 0 : 2;
  }
  if (version) {
    std::cout << "prisnd " << PRISN_VERSION << "\n";
    return 0;
  }
  auto cfg = prisn::daemon::assemble(flags);
  if (!cfg) {
    for (const auto& e : cfg.error()) std::cerr << "prisnd: " << e << "\n";
    return 2;
  }
  if (!prisn::init_logging(cfg->log_level)) {
    std::cerr << "prisnd: --log-level " << cfg->log_level << ": expected trace, debug, info, warn or error\n";
    return 2;
  }
  try {
    prisn::daemon::Daemon daemon(std::move(*cfg), flags);
    return daemon.run();
  } catch (const std::exception& e) {
    prisn::logger("daemon")->critical("fatal: {}", e.what());
    return 1;
  }
}
