// SPDX-License-Identifier: MIT
// prisn run and prisn trigger: start an execution, stream its output, exit with its status.
#include <fmt/format.h>
#include <pthread.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "cli/commands/commands.hpp"
#include "cli/script_file.hpp"
#include "prisn/client/http_client.hpp"
#include "prisn/core/duration.hpp"

namespace prisn::cli {

Json parse_env(const std::vector<std::string>& pairs, const std::string& flag) {
  Json env = Json::object();
  for (const auto& p : pairs) {
    const auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw UsageError(flag + " " + p + ": expected NAME=VALUE");
    }
    env[p.substr(0, eq)] = p.substr(eq + 1);
  }
  return env;
}

namespace {

int exit_status_of(const Json& e) {
  const std::string status = e.value("status", "");
  if (status == "Completed") return 0;
  const std::string error = e.contains("error") && e["error"].is_string() ? e["error"].get<std::string>() : "";
  if (error.starts_with("timeout")) {
    std::cerr << "prisn: " << error << "\n";
    return 124;
  }
  if (e.contains("exit_code") && e["exit_code"].is_number_integer()) {
    return e["exit_code"].get<int>();
  }
  if (e.contains("signal") && e["signal"].is_number_integer()) {
    return 128 + e["signal"].get<int>();
  }
  std::cerr << "prisn: execution " << e.value("id", "") << " failed" << (error.empty() ? "" : ": " + error) << "\n";
  return 1;
}

}  // namespace

namespace {

// Ctrl-C while following a run cancels the execution on the server (its whole process tree
// gets SIGTERM, then SIGKILL), like interrupting a foreground process; a second Ctrl-C
// leaves at once and the execution goes on. SIGINT and SIGTERM are blocked from before the
// execution is created: one that comes while it is being created (its script may be running
// before the answer arrives) cancels it as soon as its id is known, instead of ending the CLI
// and leaving the run going.
std::atomic<int> g_signal{0};  // SIGINT or SIGTERM, once one came

struct CancelTarget {
  std::mutex mutex;
  std::string id;  // empty until the server has answered
  void set(const std::string& execution_id) {
    std::lock_guard lock(mutex);
    id = execution_id;
  }
  std::string get() {
    std::lock_guard lock(mutex);
    return id;
  }
};

void cancel_execution(const std::string& server, const std::string& token, const std::string& id) {
  if (auto client = client::HttpClient::create(server, token)) {
    (void)client->request("POST", "/api/v1/executions/" + id + "/cancel");
  }
}

std::shared_ptr<CancelTarget> cancel_on_interrupt(Cli& cli) {
  // A closed terminal (SIGHUP) cancels too; a closed stdout (`prisn run x | head`) is seen
  // as a failed write, not a SIGPIPE that would end the CLI and leave the run going.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto target = std::make_shared<CancelTarget>();
  std::thread([set, server = cli.globals().server, token = cli.globals().token, target]() {
    int sig = 0;
    sigwait(&set, &sig);
    g_signal = sig;
    std::string id = target->get();
    for (const timespec poll{0, 100'000'000}; id.empty(); id = target->get()) {
      if (sigtimedwait(&set, nullptr, &poll) > 0) std::_Exit(128 + sig);  // a second one while waiting for it
    }
    std::cerr << "\nprisn: cancelling execution " << id << " (interrupt again to leave it running)\n";
    cancel_execution(server, token, id);
    sigwait(&set, &sig);
    std::_Exit(128 + g_signal);
  }).detach();
  return target;
}

}  // namespace

// How long a followed run waits for a prisnd that went away to come back: systemd restarts
// it after RestartSec=2s (packaging/prisnd.service), and its start re-adopts the run.
constexpr auto kReconnectFor = std::chrono::seconds(60);

int follow_to_exit(Cli& cli, const std::string& id) {
  // Bytes of the log already written out: a stream followed again after prisnd came back
  // starts at the log's beginning (it is only ever appended to), and skips them.
  std::size_t written = 0;
  auto follow = [&]() {
    std::size_t skip = written;
    return cli.http().stream("GET", "/api/v1/executions/" + id + "/logs?follow=true", [&](std::string_view data) {
      const std::size_t dropped = std::min(skip, data.size());
      skip -= dropped;
      data.remove_prefix(dropped);
      std::cout.write(data.data(), static_cast<std::streamsize>(data.size()));
      std::cout.flush();
      written += data.size();
      return std::cout.good();  // false once nobody reads it
    });
  };
  auto streamed = follow();
  // prisnd went away mid-stream (a crash, a restart): the run goes on (SPEC §6.6), so the
  // CLI waits for prisnd to come back and follows on, as the script's own output would.
  auto give_up = std::chrono::steady_clock::time_point();
  for (std::size_t seen = SIZE_MAX; !streamed && std::cout.good() && g_signal == 0;) {
    if (written != seen) {  // a new outage (or the first): a new wait
      seen = written;
      give_up = std::chrono::steady_clock::now() + kReconnectFor;
      std::cerr << fmt::format("prisn: {}; following execution {} again once prisnd is back\n",
                               streamed.error().message, id);
    }
    if (std::chrono::steady_clock::now() >= give_up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    streamed = follow();
  }
  if (!streamed) {
    Cli::fail(streamed.error().message);
  }
  if (!std::cout.good()) {
    // Whoever read the output has gone (`| head`): the run ends too, as a process writing
    // to a closed pipe does, and the CLI exits as one killed by SIGPIPE.
    std::cerr << "prisn: output closed; cancelling execution " << id << "\n";
    cancel_execution(cli.globals().server, cli.globals().token, id);
    return 128 + SIGPIPE;
  }
  // The log's end says how the run ended (a stopping prisnd takes no further request); a
  // stream that ended without it is asked again.
  const auto outcome = streamed->trailers.find("Prisn-Execution");
  const Json ended = outcome != streamed->trailers.end() ? Json::parse(outcome->second, nullptr, false) : Json();
  const int status = exit_status_of(ended.is_object() && ended.contains("status")
                                        ? ended : cli.call("GET", "/api/v1/executions/" + id));
  return g_signal != 0 ? 128 + g_signal : status;  // as a shell reports a job it stopped: 130, 143
}

int run_command(Cli& cli, const RunOptions& o) {
  Json body = {{"source", read_script(o.file, o.file)},
               {"filename", std::filesystem::path(o.file).filename().string()},
               {"args", o.args},
               {"env", parse_env(o.env, "-e")},
               {"trigger", "cli"},
               {"namespace", cli.globals().ns}};
  if (!o.runtime.empty()) body["runtime"] = o.runtime;
  if (!o.timeout.empty()) {
    if (!parse_duration(o.timeout)) throw UsageError("--timeout " + o.timeout + ": expected a duration such as 30s or 10m");
    body["timeout"] = o.timeout;
  }
  const auto cancel = o.detach ? nullptr : cancel_on_interrupt(cli);
  const Json e = cli.call("POST", "/api/v1/executions" + cli.ns_query(), body);
  const std::string id = e.value("id", "");
  if (o.detach) {
    cli.report(e, id);
    return 0;
  }
  cancel->set(id);
  return follow_to_exit(cli, id);
}

int trigger_command(Cli& cli, const std::string& name, const std::vector<std::string>& env, bool wait) {
  const Json body = {{"deployment_id", name}, {"env", parse_env(env, "-e")}, {"trigger", "cli"}};
  const auto cancel = wait ? cancel_on_interrupt(cli) : nullptr;
  const Json e = cli.call("POST", "/api/v1/executions" + cli.ns_query(), body);
  const std::string id = e.value("id", "");
  if (!wait) {
    if (cli.structured_output()) {
      cli.print_structured(e);
    } else {
      std::cout << id << "\n";
    }
    return 0;
  }
  std::cout << id << std::endl;  // the id first (as without --wait), then the run's own output
  cancel->set(id);
  return follow_to_exit(cli, id);
}

}  // namespace prisn::cli
