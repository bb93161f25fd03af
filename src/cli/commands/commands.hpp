// SPDX-License-Identifier: MIT
// The CLI's commands (SPEC §5). Each returns the process exit status.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/cli.hpp"

namespace prisn::cli {

struct RunOptions {
  std::string file;
  std::vector<std::string> env;
  std::string runtime;
  std::string timeout;
  bool detach = false;
  std::vector<std::string> args;
};
int run_command(Cli& cli, const RunOptions& o);

struct DeployOptions {
  std::string file;
  std::string name;
  std::string port;
  std::optional<int> replicas;
  std::string schedule;
  std::string type;
  std::vector<std::string> env;
  std::vector<std::string> secrets;
  std::string runtime;
  std::string health_path;
  std::string protocol;
  std::string expose;
  std::string timeout;
};
int deploy_command(Cli& cli, const DeployOptions& o);

int trigger_command(Cli& cli, const std::string& name, const std::vector<std::string>& env, bool wait);
/// `limit`: how many of the newest executions to list (none: the API's default, 100).
int get_command(Cli& cli, const std::string& what, const std::string& name, bool watch,
                std::optional<long> limit = std::nullopt);
int status_command(Cli& cli, const std::string& name);
int get_ingresses(Cli& cli, const std::string& name);
int get_network_policies(Cli& cli, const std::string& name);
/// `prisn apply -f FILE [-f FILE...]`: sends each manifest with the scripts its Deployments
/// name (spec.file, relative to the manifest), one request per file in order, and prints what
/// happened to each object.
int apply_command(Cli& cli, const std::vector<std::string>& manifests);
int proxy_stats_command(Cli& cli);
/// `prisn k8s render NAME | --all`: the Kubernetes YAML on stdout.
int k8s_render_command(Cli& cli, const std::string& name, bool all);
/// `prisn proxy trace HOST:PORT[/PATH]`: exit 1 when no instance answered.
int proxy_trace_command(Cli& cli, const std::string& target);
int logs_command(Cli& cli, const std::string& target, bool follow, std::optional<long> tail);
int scale_command(Cli& cli, const std::string& name, int replicas);
int restart_command(Cli& cli, const std::string& name);
int delete_command(Cli& cli, const std::vector<std::string>& args);
/// `prisn secret create` (409 when it exists) or, with `replace`, `prisn secret set` (create
/// or replace; says which services' running instances keep the old value).
int secret_create_command(Cli& cli, const std::string& name, const std::optional<std::string>& value,
                          const std::vector<std::string>& files, bool replace);
int secret_delete_command(Cli& cli, const std::string& name);
int version_command(Cli& cli);
/// `prisn dns lookup NAME [--type T]`: exit 1 on NXDOMAIN or a failure rcode.
int dns_lookup_command(Cli& cli, const std::string& name, const std::string& type);

/// Streams an execution's output to stdout until it ends, then returns the status SPEC §5
/// gives `run` and `trigger --wait`: the script's exit code, 124 after a timeout, 128+N
/// after signal N, 1 when it could not run at all (130 after a Ctrl-C that cancelled it).
int follow_to_exit(Cli& cli, const std::string& execution_id);

/// "K=V" pairs into an object; a missing '=' is a usage error naming `flag`.
Json parse_env(const std::vector<std::string>& pairs, const std::string& flag);

}  // namespace prisn::cli
