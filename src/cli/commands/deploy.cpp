// SPDX-License-Identifier: MIT
// prisn deploy: create or update a deployment from a script and flags.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string_view>

#include "cli/commands/commands.hpp"
#include "cli/fields.hpp"
#include "cli/script_file.hpp"
#include "prisn/client/http_client.hpp"
#include "prisn/core/names.hpp"
#include "prisn/model/deployment_json.hpp"

namespace prisn::cli {
namespace {

Json secret_refs(const std::vector<std::string>& specs) {
  Json out = Json::array();
  for (const auto& s : specs) {
    // Names, keys and variable names hold no ':', and only a KEY follows a '/'.
    const auto colon = s.find(':');
    const auto slash = s.find('/');
    if (colon == std::string::npos || colon == 0 || colon + 1 == s.size() || s.find(':', colon + 1) != std::string::npos ||
        (slash != std::string::npos && (slash == 0 || slash + 1 >= colon || s.find('/', slash + 1) < colon))) {
      throw UsageError("--secret " + s + ": expected NAME:ENV or NAME/KEY:ENV");
    }
    std::string name = s.substr(0, colon);
    Json ref = {{"env", s.substr(colon + 1)}};
    if (slash != std::string::npos) {
      ref["key"] = name.substr(slash + 1);
      name = name.substr(0, slash);
    }
    ref["secret"] = name;
    out.push_back(ref);
  }
  return out;
}

// A port number as given on the command line: digits only, at least `lowest`, at most 65535.
std::optional<int> port_number(std::string_view text, int lowest) {
  if (text.empty() || text.size() > 5 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const int port = std::stoi(std::string(text));
  if (port < lowest || port > 65535) return std::nullopt;
  return port;
}

// --expose nodePort:30080 | ingress:HOST[/PATH]
Json expose_of(const std::string& text) {
  if (text.starts_with("nodePort:")) {
    if (const auto port = port_number(std::string_view(text).substr(9), 1)) return {{"type", "nodePort"}, {"nodePort", *port}};
  } else if (text.starts_with("ingress:") && text.size() > 8) {
    std::string rest = text.substr(8);
    const auto slash = rest.find('/');
    Json out = {{"type", "ingress"}, {"host", rest.substr(0, slash)}, {"path", "/"}};
    if (slash != std::string::npos) out["path"] = rest.substr(slash);
    return out;
  }
  throw UsageError("--expose " + text + ": expected nodePort:PORT (1-65535) or ingress:HOST[/PATH]");
}

std::string describe(const Json& d) {
  const std::string type = d.value("type", "");
  std::string out = type;
  if (type == "service") {
    const int replicas = d.value("replicas", 1);
    out += fmt::format(", {} replica{}", replicas, replicas == 1 ? "" : "s");
    if (d.value("port", 0) != 0) out += ", port " + ports_text(d);
    if (const auto exposed = expose_text(d); !exposed.empty()) out += ", " + exposed;
  } else if (type == "cron") {
    out += ", schedule \"" + d.value("schedule", "") + "\"";
    if (d.contains("next_run") && d["next_run"].is_string()) out += ", next run " + d["next_run"].get<std::string>();
  }
  return out;
}

}  // namespace

int deploy_command(Cli& cli, const DeployOptions& o) {
  const std::string source = read_script(o.file, o.file);
  std::string name = o.name;
  if (name.empty()) {
    name = default_name_for_file(o.file);
    if (!is_valid_name(name)) {
      throw UsageError(fmt::format("'{}' (from the file name) is not a valid deployment name; give one with --name", name));
    }
  } else if (!is_valid_name(name)) {
    throw UsageError(fmt::format("--name {}: use lowercase letters, digits and '-' (at most 63)", name));
  }
  Json spec = {{"name", name},
               {"source", source},
               {"filename", std::filesystem::path(o.file).filename().string()},
               {"env", parse_env(o.env, "-e")},
               {"secrets", secret_refs(o.secrets)}};
  if (!o.runtime.empty()) spec["runtime"] = o.runtime;
  if (!o.type.empty()) spec["type"] = o.type;
  if (!o.schedule.empty()) spec["schedule"] = o.schedule;
  if (!o.protocol.empty()) spec["protocol"] = o.protocol;
  if (!o.timeout.empty()) spec["timeout"] = o.timeout;
  if (!o.expose.empty()) spec["expose"] = expose_of(o.expose);
  if (!o.port.empty()) {
    if (o.port == "auto") {
      spec["port"] = "auto";
    } else if (const auto port = port_number(o.port, 0)) {
      spec["port"] = *port;  // 0 takes the port away
    } else {
      throw UsageError("--port " + o.port + ": expected a port number (0-65535) or auto");
    }
  }
  if (!o.health_path.empty()) {
    spec["healthCheck"] = {{"http", {{"path", o.health_path}}}};
  }
  const auto existing = cli.find("/api/v1/deployments/" + client::url_encode(name) + cli.ns_query());
  // Deploying a service again with new code keeps how it is run and reached unless a flag
  // says otherwise: the replicas `prisn scale` set, and its port (`--port 0` removes it).
  const bool existing_service = existing && existing->value("type", "") == "service" && o.schedule.empty();
  if (o.replicas) {
    spec["replicas"] = *o.replicas;
  } else if (existing_service) {
    spec["replicas"] = existing->value("replicas", 1);
  }
  if (o.port.empty() && existing_service && existing->value("port", 0) != 0) {
    spec["port"] = existing->value("port", 0);
  }
  // A cron job deployed again keeps its schedule, unless a flag makes it something else.
  const bool existing_cron = existing && existing->value("type", "") == "cron";
  if (existing_cron && o.schedule.empty() && o.type.empty() && o.port.empty() && !o.replicas) {
    spec["schedule"] = existing->value("schedule", "");
  }
  const Json d = cli.call("PUT", "/api/v1/deployments/" + client::url_encode(name) + cli.ns_query(), spec);
  if (cli.structured_output()) {
    cli.print_structured(d);
    return 0;
  }
  // The same generation (so the same script) and the same fields: nothing changed. A change
  // that needs no rollout (expose, replicas) keeps the generation but is still an update.
  const auto spec_of = [](Json j) {
    for (const char* volatile_key : {"status", "created_at", "updated_at", "generation"}) j.erase(volatile_key);
    return j;
  };
  const bool unchanged = existing && existing->value("generation", 0) == d.value("generation", 0) &&
                         spec_of(*existing) == spec_of(d);
  std::cout << fmt::format("deployment \"{}\" {} ({})\n", name,
                           !existing ? "created" : (unchanged ? "unchanged" : "updated"), describe(d));
  // Stored, but it cannot run yet (a secret it names does not exist, its runtime is missing),
  // or its earlier instances serve on while the new ones cannot start.
  if (const auto warning = model::deployment_warning(d.value("status", Json::object()))) {
    std::cout.flush();
    std::cerr << "prisn: warning: " << *warning << "\n";
  }
  if (o.port == "auto" && (!existing || existing->value("port", 0) != d.value("port", 0))) {  // chosen this time
    std::cout << fmt::format("port {} chosen; reach it at localhost:{} or {}.{}.prisn.local:{}\n",
                             d.value("port", 0), d.value("port", 0), name, cli.globals().ns, d.value("port", 0));
  }
  return 0;
}

}  // namespace prisn::cli
