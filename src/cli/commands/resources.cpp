// SPDX-License-Identifier: MIT
// prisn get ingresses|networkpolicies, prisn apply -f.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/commands/commands.hpp"
#include "prisn/core/base64.hpp"
#include "cli/fields.hpp"
#include "cli/table.hpp"
#include "prisn/client/http_client.hpp"
#include "prisn/core/files.hpp"
#include "prisn/manifest/manifest.hpp"

namespace prisn::cli {
namespace {

Json list_or_one(Cli& cli, const std::string& collection, const std::string& name) {
  if (name.empty()) return cli.call("GET", collection + cli.ns_query());
  return Json{{"items", Json::array({cli.call("GET", collection + "/" + client::url_encode(name) + cli.ns_query())})}};
}

std::string joined(const std::vector<std::string>& parts, const char* sep = ",") {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out.empty() ? "-" : out;
}

}  // namespace

int get_ingresses(Cli& cli, const std::string& name) {
  const Json list = list_or_one(cli, "/api/v1/ingresses", name);
  if (cli.structured_output()) {
    cli.print_structured(name.empty() ? list : list["items"][0]);
    return 0;
  }
  std::vector<std::string> headers = {"NAME", "HOSTS", "PATHS", "TLS", "AGE"};
  if (cli.wide()) headers.insert(headers.begin(), "NAMESPACE");
  Table t(headers);
  // A path without a port goes to its deployment's first port: shown, as the router picks it.
  std::map<std::string, int> first_ports;
  const Json deployments = cli.call("GET", "/api/v1/deployments" + cli.ns_query());  // kept: ranged over below
  for (const auto& d : deployments["items"]) {
    if (d.value("port", 0) != 0) first_ports[d.value("name", "")] = d.value("port", 0);
  }
  for (const auto& ing : list["items"]) {
    std::vector<std::string> hosts, paths, tls;
    // With several hosts, each path names its host ("b.example.com/->b"), as a flat list of
    // paths would not say which host routes where.
    const bool per_host = ing["rules"].size() > 1;
    for (const auto& rule : ing["rules"]) {
      const std::string host = rule.value("host", "");
      hosts.push_back(host.empty() ? "*" : host);
      for (const auto& p : rule["paths"]) {
        std::string target = p.value("deployment", "");
        if (p.contains("port")) {
          target += ":" + p["port"].dump();
        } else if (const auto first = first_ports.find(target); first != first_ports.end()) {
          target += ":" + std::to_string(first->second);
        }
        paths.push_back((per_host ? hosts.back() : "") + p.value("path", "/") + "->" + target);
      }
    }
    for (const auto& t_ : ing["tls"]) tls.push_back(t_.value("secretName", ""));
    std::vector<std::string> row = {str(ing, "name"), joined(hosts), joined(paths), joined(tls), age(ing, "created_at")};
    if (cli.wide()) row.insert(row.begin(), str(ing, "namespace"));
    t.add(row);
  }
  print_table(t, "No ingresses in namespace " + cli.globals().ns + ".");
  return 0;
}

int get_network_policies(Cli& cli, const std::string& name) {
  const Json list = list_or_one(cli, "/api/v1/networkpolicies", name);
  if (cli.structured_output()) {
    cli.print_structured(name.empty() ? list : list["items"][0]);
    return 0;
  }
  std::vector<std::string> headers = {"NAME", "TARGET", "FROM", "PORTS", "ENFORCED", "AGE"};
  if (cli.wide()) headers.push_back("REASON");
  Table t(headers);
  for (const auto& pol : list["items"]) {
    // One entry per rule, rules apart by "; ": {api → 3000, web → 3001} is "api; web" and
    // "3000; 3001", not api and web to both ports. No rule admits nobody.
    std::vector<std::string> from, ports;
    for (const auto& rule : pol["ingress"]) {
      std::vector<std::string> names, numbers;
      for (const auto& f : rule["from"]) names.push_back(f.value("deployment", ""));
      for (const auto& p : rule["ports"]) numbers.push_back(p.dump());
      from.push_back(joined(names));
      ports.push_back(numbers.empty() ? "any" : joined(numbers));
    }
    const std::string target = pol.contains("target") ? str(pol["target"], "deployment") : "-";
    std::vector<std::string> row = {str(pol, "name"), target, from.empty() ? "<none>" : joined(from, "; "),
                                    joined(ports, "; "),
                                    pol.value("enforced", false) ? "yes" : "no", age(pol, "created_at")};
    if (cli.wide()) row.push_back(str(pol, "reason"));
    t.add(row);
  }
  print_table(t, "No network policies in namespace " + cli.globals().ns + ".");
  return 0;
}

namespace {

// One -f argument's request body: the manifest, with the scripts its Deployments name by
// spec.file, read relative to the manifest. The server checks everything else (so its
// messages can name lines of this file).
Json apply_request(const std::string& file) {
  const bool from_stdin = file == "-";
  std::string text;
  if (from_stdin) {
    std::ostringstream in;
    in << std::cin.rdbuf();
    text = in.str();
  } else {
    auto read = read_file(file);
    if (!read) throw UsageError(read.error().message);  // exit 2, as for `run` and `--from-file`
    text = std::move(*read);
  }
  Json files = Json::object();
  if (auto docs = manifest::parse(text)) {
    const auto base = from_stdin ? std::filesystem::current_path() : std::filesystem::path(file).parent_path();
    for (const auto& ref : manifest::referenced_files(*docs)) {
      const std::filesystem::path path(ref.path);
      auto bytes = read_file(path.is_absolute() ? path : base / path);
      if (!bytes) Cli::fail(fmt::format("{}: {}: spec.file: {}", file, ref.where, bytes.error().message));
      if (!is_valid_utf8(*bytes)) {
        Cli::fail(fmt::format("{}: {}: spec.file: {} is not UTF-8 text: save it as UTF-8 to run it with prisn", file,
                              ref.where, ref.path));
      }
      files[ref.path] = std::move(*bytes);
    }
  }
  return Json{{"manifest", std::move(text)}, {"files", std::move(files)}};
}

void print_applied(const Json& items) {
  for (const auto& item : items) {
    std::string kind = item.value("kind", "");
    for (char& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::cout << fmt::format("{}/{} {}\n", kind, item.value("name", ""), item.value("action", ""));
    if (item.contains("warning")) {
      std::cout.flush();
      std::cerr << fmt::format("prisn: warning: {}/{}: {}\n", kind, item.value("name", ""), item.value("warning", ""));
    }
  }
}

// After file `failed` of several was refused: "a.yaml was applied; b.yaml and c.yaml were not".
std::string what_was_applied(const std::vector<std::string>& files, std::size_t failed) {
  const auto list = [&](std::size_t from, std::size_t to) {
    std::vector<std::string> names(files.begin() + static_cast<long>(from), files.begin() + static_cast<long>(to));
    return fmt::format("{}", fmt::join(names, ", "));
  };
  const std::string before = failed == 0 ? "nothing was applied" : list(0, failed) + (failed == 1 ? " was applied" : " were applied");
  const std::size_t rest = files.size() - failed;
  return fmt::format("{}; {} {} not", before, list(failed, files.size()), rest == 1 ? "was" : "were");
}

}  // namespace

int apply_command(Cli& cli, const std::vector<std::string>& manifests) {
  if (std::count(manifests.begin(), manifests.end(), "-") > 1) throw UsageError("-f -: stdin can be read only once");
  // Every file is read before any is applied: a missing second file applies nothing.
  std::vector<Json> requests;
  for (const auto& file : manifests) requests.push_back(apply_request(file));
  // Without -n each document goes to its own metadata.namespace (default: default).
  const std::string query = cli.globals().ns_given ? cli.ns_query() : "";
  Json applied = Json::array();
  for (std::size_t i = 0; i < manifests.size(); ++i) {
    // Each file is one request, all or nothing, in the order given (as kubectl applies
    // several -f); a file that fails stops the rest, and its error names it.
    const std::string context = manifests.size() > 1 ? manifests[i] + ": " : "";
    Json result;
    try {
      result = cli.call("POST", "/api/v1/apply" + query, requests[i], context);
    } catch (const Exit&) {
      if (i > 0 || i + 1 < manifests.size()) std::cerr << "prisn: " << what_was_applied(manifests, i) << "\n";
      throw;
    }
    if (!cli.structured_output()) print_applied(result["items"]);
    for (const auto& item : result["items"]) applied.push_back(item);
  }
  if (cli.structured_output()) cli.print_structured(Json{{"items", applied}});
  return 0;
}

int k8s_render_command(Cli& cli, const std::string& name, bool all) {
  if (name.empty() == !all) throw UsageError("k8s render NAME | --all");
  if (cli.globals().output == "json") {  // not ignored: a script that asked for JSON would read YAML
    throw UsageError("k8s render writes YAML, for kubectl apply -f -; -o json is not one of its outputs");
  }
  const std::string target = all ? "/api/v1/k8s/manifests?all=true" + cli.ns_query(true)
                                 : "/api/v1/k8s/manifests?deployment=" + client::url_encode(name) + cli.ns_query(true);
  const std::string yaml = cli.call_text("GET", target);
  std::cout << yaml;
  // What was left out is said in the stream's leading comments; said on stderr too, since
  // the stream usually goes straight into kubectl.
  constexpr std::string_view kSkipped = "# prisn: skipped ";
  for (std::size_t at = 0; yaml.compare(at, kSkipped.size(), kSkipped) == 0;) {
    const auto end = yaml.find('\n', at);
    std::cerr << "prisn: " << yaml.substr(at + 9, end - at - 9) << "\n";
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return 0;
}

}  // namespace prisn::cli
