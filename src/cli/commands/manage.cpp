// SPDX-License-Identifier: MIT
// prisn logs, scale, restart, delete, secret, version.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <iostream>
#include <map>

#include "cli/commands/commands.hpp"
#include "prisn/client/http_client.hpp"
#include "prisn/core/base64.hpp"
#include "prisn/core/files.hpp"

namespace prisn::cli {

namespace {

// GET of a logs path, the body streamed to stdout as it comes.
Result<client::HttpResponse> stream_logs(Cli& cli, std::string path, bool follow, std::optional<long> tail) {
  if (follow) path += "&follow=true";
  if (tail) path += "&tail=" + std::to_string(*tail);
  return cli.http().stream("GET", path, [](std::string_view data) {
    std::cout.write(data.data(), static_cast<std::streamsize>(data.size()));
    std::cout.flush();
    return true;
  });
}

}  // namespace

int logs_command(Cli& cli, const std::string& target, bool follow, std::optional<long> tail) {
  if (tail && *tail < 0) throw UsageError("--tail: must be 0 or more");
  const std::string deployment_path =
      "/api/v1/deployments/" + client::url_encode(target) + "/logs" + cli.ns_query();
  auto r = target.starts_with("ex-")
               ? stream_logs(cli, "/api/v1/executions/" + client::url_encode(target) + "/logs?x=1", follow, tail)
               : stream_logs(cli, deployment_path, follow, tail);
  if (r && r->status == 404 && target.starts_with("ex-")) {
    // "ex-…" is also a valid deployment name: no such execution, then such a deployment.
    auto as_deployment = stream_logs(cli, deployment_path, follow, tail);
    if (as_deployment && as_deployment->status != 404) r = std::move(as_deployment);
  }
  if (const auto dash = target.rfind('-'); r && r->status == 404 && dash != std::string::npos && dash + 1 < target.size() &&
                                           target.find_first_not_of("0123456789", dash + 1) == std::string::npos) {
    // No deployment "api-1": then instance 1 of service "api", as kubectl logs takes a pod.
    auto as_instance = stream_logs(cli,
                                   "/api/v1/deployments/" + client::url_encode(target.substr(0, dash)) + "/logs" +
                                       cli.ns_query() + "&instance=" + client::url_encode(target),
                                   follow, tail);
    if (as_instance && as_instance->status / 100 == 2) r = std::move(as_instance);
  }
  if (!r) Cli::fail(r.error().message);
  cli.fail_unless_ok(*r);
  return 0;
}

int scale_command(Cli& cli, const std::string& name, int replicas) {
  if (replicas < 0) throw UsageError("scale: replicas must be 0 or more");
  const Json d = cli.call("POST", "/api/v1/deployments/" + client::url_encode(name) + "/scale" + cli.ns_query(),
                          Json{{"replicas", replicas}});
  if (cli.structured_output()) cli.print_structured(d);
  else std::cout << fmt::format("deployment \"{}\" scaled to {}\n", name, replicas);
  return 0;
}

int restart_command(Cli& cli, const std::string& name) {
  const Json d = cli.call("POST", "/api/v1/deployments/" + client::url_encode(name) + "/restart" + cli.ns_query());
  if (cli.structured_output()) cli.print_structured(d);
  else std::cout << fmt::format("deployment \"{}\" restarting (one instance at a time)\n", name);
  return 0;
}

int delete_command(Cli& cli, const std::vector<std::string>& args) {
  if (args.empty() || args.size() > 2) throw UsageError("delete NAME | delete secret|ingress|networkpolicy NAME");
  // Each kind as it may be written → the kind itself.
  static const std::map<std::string, std::string> kKinds = {
      {"deployment", "deployment"}, {"deployments", "deployment"}, {"app", "deployment"},
      {"secret", "secret"},         {"secrets", "secret"},         {"ingress", "ingress"},
      {"ingresses", "ingress"},     {"ing", "ingress"},            {"networkpolicy", "networkpolicy"},
      {"networkpolicies", "networkpolicy"}, {"netpol", "networkpolicy"}, {"apps", "deployment"}};  // as `get` takes them
  if (args.size() == 1 && kKinds.contains(args[0])) {
    // As kubectl: a kind alone is a missing name (a deployment of that name: delete deployment NAME).
    throw UsageError("delete " + args[0] + ": needs a NAME");
  }
  const auto kind = args.size() == 2 ? kKinds.find(args[0]) : kKinds.find("deployment");
  if (kind == kKinds.end()) {
    throw UsageError("delete " + args[0] + ": expected deployment, secret, ingress or networkpolicy");
  }
  const std::string& name = args.back();
  if (kind->second == "secret") return secret_delete_command(cli, name);
  static const std::map<std::string, std::string> kCollections = {
      {"deployment", "deployments"}, {"ingress", "ingresses"}, {"networkpolicy", "networkpolicies"}};
  const Json result =
      cli.call("DELETE", "/api/v1/" + kCollections.at(kind->second) + "/" + client::url_encode(name) + cli.ns_query());
  cli.report(result, fmt::format("{} \"{}\" deleted", kind->second, name));
  return 0;
}

namespace {

// The request body of `secret create` and `secret set`: the value, or the files' contents.
Json secret_body(const std::string& name, const std::optional<std::string>& value, const std::vector<std::string>& files) {
  Json body = {{"name", name}};
  if (value && is_valid_utf8(*value)) {
    body["value"] = *value;
  } else if (value) {
    body["binaryData"] = {{"value", base64_encode(*value)}};  // byte-exact, as --from-file
  } else {
    Json data = Json::object();
    Json binary = Json::object();
    for (const auto& spec : files) {
      const auto eq = spec.find('=');
      const std::string file = eq == std::string::npos ? spec : spec.substr(eq + 1);
      const std::string key = eq == std::string::npos ? std::filesystem::path(file).filename().string() : spec.substr(0, eq);
      if (data.contains(key) || binary.contains(key)) {
        throw UsageError("--from-file " + spec + ": key '" + key + "' is given twice");
      }
      auto content = read_file(file);  // a directory, too, is an error here
      if (!content) throw UsageError("--from-file " + spec + ": " + content.error().message);
      // JSON strings carry UTF-8 only: other bytes travel as base64, still byte-exact.
      if (is_valid_utf8(*content)) {
        data[key] = std::move(*content);
      } else {
        binary[key] = base64_encode(*content);
      }
    }
    if (!data.empty()) body["data"] = data;
    if (!binary.empty()) body["binaryData"] = binary;
  }
  return body;
}

// Services whose running instances still have a secret's old value (environment variables
// are read at start, as in Kubernetes).
std::vector<std::string> services_using(Cli& cli, const std::string& secret) {
  std::vector<std::string> out;
  const Json list = cli.call("GET", "/api/v1/deployments" + cli.ns_query());
  for (const auto& d : list["items"]) {
    if (d.value("type", "") != "service" || !d.contains("secrets") || !d["secrets"].is_array()) continue;
    for (const auto& ref : d["secrets"]) {
      if (ref.is_object() && ref.value("secret", "") == secret) {
        out.push_back(d.value("name", ""));
        break;
      }
    }
  }
  return out;
}

}  // namespace

int secret_create_command(Cli& cli, const std::string& name, const std::optional<std::string>& value,
                          const std::vector<std::string>& files, bool replace) {
  const char* verb = replace ? "set" : "create";
  if (value.has_value() == !files.empty()) {
    throw UsageError(fmt::format("secret {} NAME: give --value V or --from-file [KEY=]FILE (not both)", verb));
  }
  const Json body = secret_body(name, value, files);
  if (!replace) {
    const Json result = cli.call("POST", "/api/v1/secrets" + cli.ns_query(), body);
    cli.report(result, fmt::format("secret \"{}\" created", name));
    return 0;
  }
  const std::string path = "/api/v1/secrets/" + client::url_encode(name) + cli.ns_query();
  const bool existed = cli.find(path).has_value();
  const Json result = cli.call("PUT", path, body);
  cli.report(result, fmt::format("secret \"{}\" {}", name, existed ? "updated" : "created"));
  const auto users = existed ? services_using(cli, name) : std::vector<std::string>();
  if (!users.empty()) {
    std::cerr << fmt::format("prisn: running instances of {} keep the old value until they restart (prisn restart NAME)\n",
                             fmt::join(users, ", "));
  }
  return 0;
}

int secret_delete_command(Cli& cli, const std::string& name) {
  const Json result = cli.call("DELETE", "/api/v1/secrets/" + client::url_encode(name) + cli.ns_query());
  cli.report(result, fmt::format("secret \"{}\" deleted", name));
  return 0;
}

// The client's version always; the daemon's, or (SPEC §5: the operation failed) exit 1 with
// why on stderr, as `kubectl version` does without a server.
int version_command(Cli& cli) {
  if (cli.structured_output()) {  // one document, so the server is asked first
    const Json v = cli.call("GET", "/api/v1/version");
    cli.print_structured({{"client", {{"version", PRISN_VERSION}}}, {"server", v}, {"serverAddress", cli.http().server()}});
    return 0;
  }
  std::cout << "prisn " << PRISN_VERSION << std::endl;
  const Json v = cli.call("GET", "/api/v1/version");
  std::cout << "prisnd " << (v.is_object() ? v.value("version", "?") : "?") << " at " << cli.http().server() << "\n";
  return 0;
}

}  // namespace prisn::cli
