// SPDX-License-Identifier: MIT
// prisn: the command-line client of prisnd (SPEC §5). It talks to prisnd over HTTP only.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <limits>

#include "cli/commands/commands.hpp"

namespace {

using namespace prisn::cli;

constexpr long kNoTail = std::numeric_limits<long>::min();  // --tail not given

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

// Repeated single-value options (-e A=1 -e B=2).
CLI::Option* repeated(CLI::App* app, const std::string& names, std::vector<std::string>& into, const std::string& help) {
  return app->add_option(names, into, help)->allow_extra_args(false)->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

}  // namespace

int main(int argc, char** argv) {
  Globals g;
  g.server = env_or("PRISN_SERVER", g.server);
  g.token = env_or("PRISN_TOKEN", "");
  CLI::App app{"prisn: run scripts as jobs, cron jobs and services on a prisnd node", "prisn"};
  app.require_subcommand(1);
  app.fallthrough();
  // An empty value ("--name $UNSET") is a usage error: taken as "not given", `deploy --name ""`
  // would update the deployment named after the file.
  const CLI::Validator not_empty([](const std::string& v) { return v.empty() ? std::string("must not be empty") : ""; },
                                 "", "not empty");
  app.add_option("--server", g.server, "prisnd URL (env PRISN_SERVER; default http://127.0.0.1:7331)")->check(not_empty);
  app.add_option("--token", g.token, "bearer token (env PRISN_TOKEN)");
  auto* ns_option = app.add_option("-n,--namespace", g.ns, "namespace (default: default)")->check(not_empty);
  app.add_option("-o,--output", g.output, "table, wide, json or yaml")
      ->check(CLI::IsMember({"table", "wide", "json", "yaml"}));

  RunOptions run;
  auto* run_cmd = app.add_subcommand("run", "run a script once and stream its output");
  run_cmd->add_option("FILE", run.file, "the script")->required();
  repeated(run_cmd, "-e,--env", run.env, "environment variable K=V");
  run_cmd->add_option("--runtime", run.runtime, "python3, bash, sh, node, ruby, perl or php")->check(not_empty);
  run_cmd->add_option("--timeout", run.timeout, "kill it after this long (e.g. 30s, 10m)")->check(not_empty);
  run_cmd->add_flag("-d,--detach", run.detach, "print the execution id and return");
  run_cmd->add_option("ARGS", run.args, "arguments for the script (after --)");

  DeployOptions dep;
  std::string replicas;
  auto* deploy_cmd = app.add_subcommand("deploy", "create or update a deployment from a script");
  deploy_cmd->add_option("FILE", dep.file, "the script")->required();
  deploy_cmd->add_option("--name", dep.name, "deployment name (default: the file's stem)")->check(not_empty);
  // Values the CLI can tell are wrong are usage errors (exit 2), before anything is sent.
  const CLI::Validator port_or_auto(
      [](const std::string& v) {
        return v == "auto" || CLI::Range(0, 65535)(std::string(v)).empty() ? std::string()
                                                                          : "expected a port from 0 to 65535, or auto";
      },
      "PORT|auto");
  deploy_cmd->add_option("--port", dep.port, "service port, or auto")->check(port_or_auto);
  deploy_cmd->add_option("--replicas", replicas, "number of instances (makes it a service)");
  deploy_cmd->add_option("--schedule", dep.schedule, "cron schedule (makes it a cron job)")->check(not_empty);
  deploy_cmd->add_option("--type", dep.type, "service, job or cron (inferred by default)")
      ->check(CLI::IsMember({"service", "job", "cron"}));
  repeated(deploy_cmd, "-e,--env", dep.env, "environment variable K=V");
  repeated(deploy_cmd, "--secret", dep.secrets, "inject a secret: NAME:ENV or NAME/KEY:ENV");
  deploy_cmd->add_option("--runtime", dep.runtime, "python3, bash, sh, node, ruby, perl or php")->check(not_empty);
  deploy_cmd->add_option("--health-path", dep.health_path, "HTTP health check path")->check(not_empty);
  deploy_cmd->add_option("--protocol", dep.protocol, "tcp or http")->check(CLI::IsMember({"tcp", "http"}));
  deploy_cmd->add_option("--expose", dep.expose, "nodePort:PORT or ingress:HOST[/PATH]")->check(not_empty);
  deploy_cmd->add_option("--timeout", dep.timeout, "jobs and cron: kill a run after this long")->check(not_empty);

  std::string name;
  std::vector<std::string> env;
  bool wait = false;
  auto* trigger_cmd = app.add_subcommand("trigger", "run a job deployment now");
  trigger_cmd->add_option("NAME", name, "deployment")->required();
  repeated(trigger_cmd, "-e,--env", env, "extra environment variable K=V");
  trigger_cmd->add_flag("--wait", wait, "stream the output and exit with the job's status");

  std::string what;
  bool watch = false;
  auto* get_cmd = app.add_subcommand("get", "list resources");
  get_cmd->add_option("RESOURCE", what, "apps|deployments|executions|endpoints|secrets|ingresses|networkpolicies")->required();
  get_cmd->add_option("NAME", name, "one resource");
  get_cmd->add_flag("-w,--watch", watch, "keep printing changes");
  long limit = 0;
  auto* limit_opt = get_cmd->add_option("--limit", limit, "executions: how many of the newest to list (default 100)");

  auto* status_cmd = app.add_subcommand("status", "status of all deployments, or of one");
  status_cmd->add_option("NAME", name, "deployment");

  bool follow = false;
  long tail = kNoTail;
  auto* logs_cmd = app.add_subcommand("logs", "output of a deployment or an execution");
  logs_cmd->add_option("NAME|EXECUTION_ID", name, "deployment name or execution id")->required();
  logs_cmd->add_flag("-f,--follow", follow, "keep streaming new output");
  logs_cmd->add_option("--tail", tail, "only the last N lines");  // its sign is checked by logs_command

  int count = 0;
  auto* scale_cmd = app.add_subcommand("scale", "set a service's number of instances");
  scale_cmd->add_option("NAME", name, "deployment")->required();
  scale_cmd->add_option("REPLICAS", count, "instances")->required();

  auto* restart_cmd = app.add_subcommand("restart", "rolling restart of a service");
  restart_cmd->add_option("NAME", name, "deployment")->required();

  std::vector<std::string> delete_args;
  auto* delete_cmd = app.add_subcommand("delete", "delete a deployment (or: delete secret NAME)");
  delete_cmd->add_option("NAME", delete_args, "NAME, or KIND NAME")->required();

  std::string value;
  std::vector<std::string> files;
  auto* secret_cmd = app.add_subcommand("secret", "manage secrets");
  secret_cmd->require_subcommand(1);
  // `secret create` and `secret set` take the same arguments; returns --value's option, whose
  // count tells an empty value from none.
  const auto secret_value_command = [&](const char* verb, const char* help) {
    auto* cmd = secret_cmd->add_subcommand(verb, help);
    cmd->add_option("NAME", name, "secret name")->required();
    auto* value_opt = cmd->add_option("--value", value, "the value (stored under key 'value')");
    // SPEC §5: `--from-file [KEY=]FILE...`, several after one flag, or the flag repeated.
    cmd->add_option("--from-file", files, "[KEY=]FILE..., byte-exact (repeatable)")
        ->expected(1, CLI::detail::expected_max_vector_size)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    return std::pair{cmd, value_opt};
  };
  const auto [secret_create, value_opt] = secret_value_command("create", "create a secret");
  const auto [secret_set, set_value_opt] = secret_value_command("set", "create a secret, or replace the one of that name");
  auto* secret_list = secret_cmd->add_subcommand("list", "list secrets");
  auto* secret_delete = secret_cmd->add_subcommand("delete", "delete a secret");
  secret_delete->add_option("NAME", name, "secret name")->required();

  auto* version_cmd = app.add_subcommand("version", "print the versions of prisn and prisnd");

  std::vector<std::string> manifest_files;
  auto* apply_cmd = app.add_subcommand("apply", "create or update what a YAML manifest describes");
  apply_cmd->add_option("-f,--filename", manifest_files, "a manifest (- reads stdin); repeat for several, applied in order")->required()->check(not_empty);

  std::string trace_target;
  auto* proxy_cmd = app.add_subcommand("proxy", "the L4/L7 proxy");
  proxy_cmd->require_subcommand(1);
  auto* proxy_stats = proxy_cmd->add_subcommand("stats", "requests, errors and latency per route");
  auto* proxy_trace = proxy_cmd->add_subcommand("trace", "where a request to HOST:PORT[/PATH] goes");
  proxy_trace->add_option("HOST:PORT[/PATH]", trace_target, "e.g. api.default.prisn.local:8080/health")->required();

  std::string k8s_name;
  bool k8s_all = false;
  auto* k8s_cmd = app.add_subcommand("k8s", "Kubernetes");
  k8s_cmd->require_subcommand(1);
  auto* k8s_render = k8s_cmd->add_subcommand("render", "the Kubernetes YAML prisn would create");
  k8s_render->add_option("NAME", k8s_name, "deployment");
  k8s_render->add_flag("--all", k8s_all, "every deployment, ingress and policy of the namespace");

  std::string record_type = "A";
  auto* dns_cmd = app.add_subcommand("dns", "prisn DNS");
  dns_cmd->require_subcommand(1);
  auto* dns_lookup = dns_cmd->add_subcommand("lookup", "ask prisn DNS for a name");
  dns_lookup->add_option("NAME", name, "e.g. api.default.prisn.local")->required();
  dns_lookup->add_option("-t,--type", record_type, "A, AAAA, SRV, SOA, NS, ... (default A)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 says "A subcommand is required" of `prisn foo` and `prisn proxy foo`: name what
    // it did not know.
    std::string known = "prisn";
    const CLI::App* deepest = &app;
    while (!deepest->get_subcommands().empty()) {
      deepest = deepest->get_subcommands().front();
      known += " " + deepest->get_name();
    }
    if (const auto left = app.remaining(true); deepest->get_subcommands().empty() && deepest->get_require_subcommand_min() > 0 &&
                                               !left.empty() && !left.front().starts_with("-")) {
      if (known == "prisn" && left.front() == "cluster") {  // the seed's `prisn cluster join`
        std::cerr << "prisn: unknown command 'cluster': prisn runs on one node; for more than one, `prisn k8s render "
                     "--all` gives Kubernetes the same deployments\n";
        return 2;
      }
      std::cerr << "prisn: unknown command '" << (known == "prisn" ? "" : known.substr(6) + " ") << left.front() << "' ("
                << known << " --help lists them)\n";
      return 2;
    }
    if (dynamic_cast<const CLI::ConversionError*>(&e) != nullptr) {
      // CLI11 says "Could not convert: REPLICAS = abc"; the options it converts are counts.
      constexpr std::string_view kLead = "Could not convert: ";
      std::string_view what = e.what();
      if (what.starts_with(kLead) && what.find(" = ") != std::string_view::npos) {
        what.remove_prefix(kLead.size());
        const auto eq = what.find(" = ");
        std::cerr << "prisn: " << what.substr(0, eq) << ": expected a whole number, got '" << what.substr(eq + 3)
                  << "'\n";
        return 2;
      }
    }
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // As every other message of prisn's: on one line, beginning "prisn: ".
    std::cerr << "prisn: " << e.what() << " (" << known << " --help lists the options)\n";
    return 2;
  }
  g.ns_given = ns_option->count() > 0;
  try {
    Cli cli(g);
    if (run_cmd->parsed()) return run_command(cli, run);
    if (deploy_cmd->parsed()) {
      if (!replicas.empty()) {
        try {
          std::size_t used = 0;
          dep.replicas = std::stoi(replicas, &used);
          if (used != replicas.size() || *dep.replicas < 0) throw std::invalid_argument("replicas");
        } catch (const std::exception&) {
          throw UsageError("--replicas " + replicas + ": expected a number, 0 or more");
        }
      }
      return deploy_command(cli, dep);
    }
    if (trigger_cmd->parsed()) return trigger_command(cli, name, env, wait);
    if (get_cmd->parsed()) {
      return get_command(cli, what, name, watch, limit_opt->count() > 0 ? std::optional(limit) : std::nullopt);
    }
    if (status_cmd->parsed()) return status_command(cli, name);
    if (logs_cmd->parsed()) return logs_command(cli, name, follow, tail != kNoTail ? std::optional<long>(tail) : std::nullopt);
    if (scale_cmd->parsed()) return scale_command(cli, name, count);
    if (restart_cmd->parsed()) return restart_command(cli, name);
    if (delete_cmd->parsed()) return delete_command(cli, delete_args);
    if (secret_create->parsed()) {
      return secret_create_command(cli, name, value_opt->count() > 0 ? std::optional<std::string>(value) : std::nullopt, files,
                                   false);
    }
    if (secret_set->parsed()) {
      return secret_create_command(cli, name, set_value_opt->count() > 0 ? std::optional<std::string>(value) : std::nullopt,
                                   files, true);
    }
    if (secret_list->parsed()) return get_command(cli, "secrets", "", false);
    if (secret_delete->parsed()) return secret_delete_command(cli, name);
    if (version_cmd->parsed()) return version_command(cli);
    if (dns_lookup->parsed()) return dns_lookup_command(cli, name, record_type);
    if (apply_cmd->parsed()) return apply_command(cli, manifest_files);
    if (proxy_stats->parsed()) return proxy_stats_command(cli);
    if (k8s_render->parsed()) return k8s_render_command(cli, k8s_name, k8s_all);
    if (proxy_trace->parsed()) return proxy_trace_command(cli, trace_target);
  } catch (const UsageError& e) {
    std::cerr << "prisn: " << e.what() << "\n";
    return 2;
  } catch (const Exit& e) {
    return e.code;
  } catch (const prisn::model::Json::exception& e) {  // JSON, but not of the shape prisnd sends
    std::cerr << "prisn: " << Cli(g).not_prisnd(e.what()) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "prisn: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
