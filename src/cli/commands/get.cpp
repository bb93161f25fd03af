// SPDX-License-Identifier: MIT
// prisn get ... and prisn status: tables over the REST API's lists.
#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <exception>
#include <functional>
#include <iostream>

#include "cli/commands/commands.hpp"
#include "cli/fields.hpp"
#include "cli/table.hpp"
#include "prisn/client/http_client.hpp"
#include "prisn/core/time.hpp"

namespace prisn::cli {
namespace {

// A time field in the node's local time, to the minute, with how far it is from now:
// "2026-12-07 22:00 (in 3m)", "2026-12-07 21:55 (5m ago)"; "-" when there is none.
std::string local_time(const Json& d, const char* field) {
  if (!d.contains(field) || !d[field].is_string()) return "-";
  auto t = parse_rfc3339(d[field].get<std::string>());
  if (!t) return "-";
  const std::time_t secs = WallClock::to_time_t(*t);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  const auto now = WallClock::now();
  if (*t >= now) return fmt::format("{} (in {})", buf, human_age(now - (*t - now), now));
  return fmt::format("{} ({} ago)", buf, human_age(*t, now));
}

std::string next_run(const Json& d) { return local_time(d, "next_run"); }

std::vector<std::string> deployment_row(const Json& d, bool wide) {
  const auto& st = d.contains("status") ? d["status"] : Json::object();
  const std::string type = str(d, "type");
  const std::string ready =
      type == "service" ? fmt::format("{}/{}", st.value("ready_replicas", 0), st.value("desired_replicas", 0)) : "-";
  const int port = d.value("port", 0);
  std::vector<std::string> row = {str(d, "name"), type, str(st, "phase"), ready,
                                  port != 0 ? std::to_string(port) : "-",
                                  type == "service" ? std::to_string(st.value("restarts", 0)) : "-",
                                  type == "cron" ? next_run(d) : "-", age(d, "created_at")};
  if (wide) {
    row.insert(row.begin(), str(d, "namespace"));
    row.push_back(str(d, "runtime"));
    row.push_back(str(d, "schedule"));
    row.push_back(str(st, "message"));
  }
  return row;
}

Table deployment_table(bool wide) {
  std::vector<std::string> headers = {"NAME", "TYPE", "STATUS", "READY", "PORT", "RESTARTS", "NEXT RUN", "AGE"};
  if (wide) {
    headers.insert(headers.begin(), "NAMESPACE");
    headers.insert(headers.end(), {"RUNTIME", "SCHEDULE", "MESSAGE"});
  }
  return Table(headers);
}

std::string duration(const Json& e) {
  if (!e.contains("duration_ms") || !e["duration_ms"].is_number()) return "-";
  const double ms = e["duration_ms"].get<double>();
  return ms < 1000 ? fmt::format("{}ms", static_cast<long>(ms)) : fmt::format("{:.1f}s", ms / 1000);
}

void print_executions(Cli& cli, const Json& list, const std::string& none) {
  std::vector<std::string> headers = {"ID", "DEPLOYMENT", "STATUS", "EXIT", "TRIGGER", "DURATION", "AGE"};
  if (cli.wide()) headers.insert(headers.end(), {"ATTEMPTS", "ERROR"});
  Table t(headers);
  for (const auto& e : list["items"]) {
    std::string exit = "-";
    if (e.contains("exit_code") && e["exit_code"].is_number()) exit = e["exit_code"].dump();
    else if (e.contains("signal") && e["signal"].is_number()) exit = "signal " + e["signal"].dump();
    std::vector<std::string> row = {str(e, "id"), str(e, "deployment_id", "(run)"), str(e, "status"), exit,
                                    str(e, "trigger"), duration(e), age(e, "created_at")};
    if (cli.wide()) row.insert(row.end(), {str(e, "attempts", "1"), str(e, "error")});
    t.add(row);
  }
  print_table(t, none);
}

// The newest `limit` executions (none given: the API's default of 100). A table says when
// older ones were left out: one more than shown is asked for, to know.
int list_executions(Cli& cli, std::optional<long> limit) {
  constexpr long kDefault = 100, kMost = 10000;  // the API's default and its largest limit
  if (limit && (*limit < 1 || *limit > kMost)) {
    throw UsageError(fmt::format("--limit {}: expected 1 to {}", *limit, kMost));
  }
  const long shown = limit.value_or(kDefault);
  const bool structured = cli.structured_output();
  const long asked = structured || shown == kMost ? shown : shown + 1;
  Json list = cli.call("GET", "/api/v1/executions" + cli.ns_query() + "&limit=" + std::to_string(asked));
  if (structured) {
    cli.print_structured(list);
    return 0;
  }
  auto& items = list["items"];
  const bool more = static_cast<long>(items.size()) > shown;
  if (more) items.erase(items.begin() + shown, items.end());
  print_executions(cli, list, "No executions in namespace " + cli.globals().ns + ".");
  if (more) std::cerr << fmt::format("(the newest {}; older ones with --limit N, up to {})\n", shown, kMost);
  return 0;
}

// An instance's ip:port (its ip alone for a service without a port), or "-" while it has
// none (backing off after a crash).
std::string endpoint_of(const Json& ep) {
  if (!ep.contains("ip") || !ep["ip"].is_string()) return "-";
  return ep.contains("port") && !ep["port"].is_null() ? fmt::format("{}:{}", str(ep, "ip"), str(ep, "port")) : str(ep, "ip");
}

// `named`: the one deployment asked for, or empty for all of the namespace.
void print_endpoints(Cli& cli, const std::vector<Json>& services, const std::string& named) {
  if (cli.wide()) {
    Table t({"NAME", "INSTANCE", "ENDPOINT", "HEALTH", "STATE", "PID", "RESTARTS", "AGE", "MESSAGE"});
    for (const auto& s : services) {
      for (const auto& ep : s["endpoints"]) {
        // Why it is out of rotation: its failing check, or how it last exited.
        const std::string message = ep.contains("message") ? str(ep, "message") : str(ep, "last_exit", "");
        t.add({str(s, "name"), str(ep, "instance"), endpoint_of(ep),
               ep.value("healthy", false) ? "healthy" : "unhealthy", str(ep, "state"), str(ep, "pid"),
               str(ep, "restarts"), age(ep, "started_at"), message});
      }
    }
    print_table(t, named.empty() ? "No service instances in namespace " + cli.globals().ns + "."
                                 : "No instances of '" + named + "'.");
    return;
  }
  Table t({"NAME", "ENDPOINTS"});
  for (const auto& s : services) {
    std::string list;
    for (const auto& ep : s["endpoints"]) {
      if (!ep.value("healthy", false)) continue;
      list += (list.empty() ? "" : ", ") + endpoint_of(ep);
    }
    t.add({str(s, "name"), list.empty() ? "<none>" : list});
  }
  print_table(t, "No services in namespace " + cli.globals().ns + ".");
}

// Deployments as a watch shows them: rows aligned with those printed before (each column as
// wide as its widest cell so far, so widths only grow), or, with -o json|yaml, each object.
class WatchPrinter {
 public:
  explicit WatchPrinter(Cli& cli) : cli_(cli) {
    // The longest type and phase a row can show later: rows stay aligned as they change.
    const std::size_t first = cli.wide() ? 2 : 1;  // TYPE (after NAMESPACE in -o wide)
    widest_.resize(first + 2);
    widest_[first] = "service";
    widest_[first + 1] = "CrashLoop";
  }

  // What there is now: the header and a row each, or the objects.
  void initial(const std::vector<Json>& deployments) {
    if (cli_.structured_output()) {
      for (const auto& d : deployments) change(d, false);
      return;
    }
    Table t = deployment_table(cli_.wide());
    for (const auto& d : deployments) {
      auto row = deployment_row(d, cli_.wide());
      widen(row);
      t.add(std::move(row));
    }
    t.at_least(widest_);
    std::cout << t.render() << std::flush;
  }
  // A deployment as it is after a change.
  void change(const Json& deployment, bool deleted) {
    if (cli_.structured_output()) {
      if (cli_.globals().output == "yaml" && printed_++ > 0) std::cout << "---\n";
      cli_.print_structured(deployment);
      std::cout << std::flush;
      return;
    }
    auto row = deployment_row(deployment, cli_.wide());
    if (deleted) row[cli_.wide() ? 3 : 2] = "Deleted";  // STATUS
    widen(row);
    Table t = deployment_table(cli_.wide());
    t.at_least(widest_);
    t.add(std::move(row));
    std::cout << t.render(false) << std::flush;
  }

 private:
  void widen(const std::vector<std::string>& row) {
    widest_.resize(std::max(widest_.size(), row.size()));
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (row[c].size() > widest_[c].size()) widest_[c] = row[c];
    }
  }
  Cli& cli_;
  std::vector<std::string> widest_;  // per column, its widest cell so far
  int printed_ = 0;
};

// Prints what there is (`print_initial`), then each change of the namespace's deployments (or
// of the one named) until interrupted, as kubectl get -w does. What there is is listed once the
// stream is open (its first line comes once prisnd has subscribed it), so that a change made
// in between is shown as a change rather than lost.
int watch_deployments(Cli& cli, WatchPrinter& printer, const std::string& only,
                      const std::function<void()>& print_initial) {
  std::string pending;
  bool listed = false;
  std::exception_ptr failed;  // from print_initial, rethrown once the stream is closed
  auto streamed = cli.http().stream("GET", "/api/v1/events?watch=true", [&](std::string_view data) {
    if (!std::exchange(listed, true)) {
      try {
        print_initial();
      } catch (...) {
        failed = std::current_exception();
        return false;
      }
    }
    pending.append(data);
    for (auto end = pending.find("\n\n"); end != std::string::npos; end = pending.find("\n\n")) {
      const std::string block = pending.substr(0, end);
      pending.erase(0, end + 2);
      const auto data_at = block.find("data: ");
      if (data_at == std::string::npos || block.find("event: deployment") == std::string::npos) continue;
      Json ev = Json::parse(block.substr(data_at + 6), nullptr, false);
      if (!ev.is_object() || !ev.contains("object")) continue;
      const auto& obj = ev["object"];
      if (obj.value("namespace", "") != cli.globals().ns) continue;
      if (!only.empty() && obj.value("name", "") != only) continue;
      printer.change(obj, ev.value("type", "") == "DELETED");
    }
    return true;
  });
  if (failed) std::rethrow_exception(failed);
  if (!streamed) Cli::fail(streamed.error().message);
  cli.fail_unless_ok(*streamed);  // refused (a 401, say): said, not an empty watch
  Cli::fail("prisnd ended the event stream (it is stopping); nothing more can be watched");
}

}  // namespace

int get_command(Cli& cli, const std::string& what, const std::string& name, bool watch, std::optional<long> limit) {
  const bool executions = what == "executions" || what == "execution" || what == "runs";
  if (limit && (!executions || !name.empty())) throw UsageError("--limit works with `get executions`");
  if (what == "apps" || what == "deployments" || what == "deployment" || what == "app") {
    if (watch) {
      // What there is now, then every change: rows, or objects one after another.
      WatchPrinter printer(cli);
      Cli lister(cli.globals());  // its own connection: the watch's is streaming
      return watch_deployments(cli, printer, name, [&] {
        if (!name.empty()) {
          printer.initial({lister.call("GET", "/api/v1/deployments/" + client::url_encode(name) + cli.ns_query())});
        } else {
          const Json list = lister.call("GET", "/api/v1/deployments" + cli.ns_query());
          printer.initial(list["items"].get<std::vector<Json>>());
        }
      });
    }
    if (!name.empty()) {
      const Json d = cli.call("GET", "/api/v1/deployments/" + client::url_encode(name) + cli.ns_query());
      if (cli.structured_output()) {
        cli.print_structured(d);
      } else {
        auto t = deployment_table(cli.wide());
        t.add(deployment_row(d, cli.wide()));
        std::cout << t.render();
      }
      return 0;
    }
    const Json list = cli.call("GET", "/api/v1/deployments" + cli.ns_query());
    if (cli.structured_output()) {
      cli.print_structured(list);
      return 0;
    }
    auto t = deployment_table(cli.wide());
    for (const auto& d : list["items"]) t.add(deployment_row(d, cli.wide()));
    print_table(t, "No deployments in namespace " + cli.globals().ns + ".");
    return 0;
  }
  if (watch) throw UsageError("-w works with `get apps` and `get deployments`");
  if (executions) {
    if (!name.empty()) {
      const Json e = cli.call("GET", "/api/v1/executions/" + client::url_encode(name));
      if (cli.structured_output()) cli.print_structured(e);
      else print_executions(cli, {{"items", Json::array({e})}}, "");
      return 0;
    }
    return list_executions(cli, limit);
  }
  if (what == "endpoints" || what == "endpoint" || what == "ep") {
    std::vector<Json> services;
    if (!name.empty()) {
      services.push_back(cli.call("GET", "/api/v1/endpoints/" + client::url_encode(name) + cli.ns_query()));
    } else {
      const Json all = cli.call("GET", "/api/v1/endpoints" + cli.ns_query());  // not a range over a temporary
      for (const auto& s : all["items"]) services.push_back(s);
    }
    if (cli.structured_output()) {
      cli.print_structured(name.empty() ? Json{{"items", services}} : services.front());
    } else {
      print_endpoints(cli, services, name);
    }
    return 0;
  }
  if (what == "secrets" || what == "secret") {
    const Json list = name.empty() ? cli.call("GET", "/api/v1/secrets" + cli.ns_query())
                                   : Json{{"items", Json::array({cli.call("GET", "/api/v1/secrets/" + client::url_encode(name) + cli.ns_query())})}};
    if (cli.structured_output()) {
      cli.print_structured(name.empty() ? list : list["items"][0]);
      return 0;
    }
    Table t({"NAME", "KEYS", "AGE"});
    for (const auto& s : list["items"]) {
      std::string keys;
      for (const auto& k : s["keys"]) keys += (keys.empty() ? "" : ",") + k.get<std::string>();
      t.add({str(s, "name"), keys, age(s, "created_at")});
    }
    print_table(t, "No secrets in namespace " + cli.globals().ns + ".");
    return 0;
  }
  if (what == "ingresses" || what == "ingress" || what == "ing") return get_ingresses(cli, name);
  if (what == "networkpolicies" || what == "networkpolicy" || what == "netpol") return get_network_policies(cli, name);
  throw UsageError("get " + what + ": expected apps, deployments, executions, endpoints, secrets, ingresses or networkpolicies");
}

int status_command(Cli& cli, const std::string& name) {
  if (name.empty()) {
    const Json list = cli.call("GET", "/api/v1/deployments" + cli.ns_query());
    if (cli.structured_output()) {
      cli.print_structured(list);
      return 0;
    }
    Table t({"NAME", "TYPE", "STATUS", "READY", "RESTARTS", "MESSAGE"});
    for (const auto& d : list["items"]) {
      const auto& st = d["status"];
      const bool service = d.value("type", "") == "service";
      t.add({str(d, "name"), str(d, "type"), str(st, "phase"),
             service ? fmt::format("{}/{}", st.value("ready_replicas", 0), st.value("desired_replicas", 0)) : "-",
             service ? std::to_string(st.value("restarts", 0)) : "-", str(st, "message", "")});
    }
    print_table(t, "No deployments in namespace " + cli.globals().ns + ".");
    return 0;
  }
  const Json d = cli.call("GET", "/api/v1/deployments/" + client::url_encode(name) + cli.ns_query());
  if (cli.structured_output()) {
    cli.print_structured(d);
    return 0;
  }
  const auto& st = d["status"];
  std::cout << fmt::format("Name:        {}\nNamespace:   {}\nType:        {}\nRuntime:     {}\nStatus:      {}\n",
                           str(d, "name"), str(d, "namespace"), str(d, "type"), str(d, "runtime"), str(st, "phase"));
  if (!str(st, "message", "").empty()) std::cout << "Message:     " << str(st, "message") << "\n";
  if (d.value("type", "") == "service") {
    std::cout << fmt::format("Replicas:    {}/{} ready, {} restarts\nPort:        {}\n", st.value("ready_replicas", 0),
                             st.value("desired_replicas", 0), st.value("restarts", 0), ports_text(d));
    if (const auto exposed = expose_text(d); !exposed.empty()) std::cout << "Exposed:     " << exposed << "\n";
    const Json eps = cli.call("GET", "/api/v1/endpoints/" + client::url_encode(name) + cli.ns_query());
    Table t({"INSTANCE", "ENDPOINT", "HEALTH", "STATE", "PID", "RESTARTS", "AGE"});
    for (const auto& ep : eps["endpoints"]) {
      t.add({str(ep, "instance"), endpoint_of(ep),
             ep.value("healthy", false) ? "healthy" : "unhealthy", str(ep, "state"), str(ep, "pid"),
             str(ep, "restarts"), age(ep, "started_at")});
    }
    std::cout << "\n";
    print_table(t, "No instances.");
  } else {
    if (d.value("type", "") == "cron") {
      std::cout << fmt::format("Schedule:    {}\nNext run:    {}\nLast run:    {}\nSkipped:     {}\n",
                               str(d, "schedule"), next_run(d), local_time(d, "last_run"), str(d, "skipped_ticks", "0"));
    }
    Json runs = cli.call("GET", "/api/v1/executions" + cli.ns_query() + "&deployment=" +
                                    client::url_encode(name) + "&limit=5");
    // The runs of a deployment deleted earlier under this name stay in the history (SPEC §4),
    // but they are not this one's.
    const auto created = parse_rfc3339(str(d, "created_at"));
    auto& items = runs["items"];
    items.erase(std::remove_if(items.begin(), items.end(),
                               [&](const Json& e) {
                                 const auto at = parse_rfc3339(str(e, "created_at"));
                                 return created && at && *at < *created;
                               }),
                items.end());
    if (items.empty()) {
      std::cout << "\nRecent executions: none yet\n";
    } else {
      std::cout << "\nRecent executions:\n";
      print_executions(cli, runs, "");
    }
  }
  std::cout << fmt::format("\nCreated:     {} ({} ago)\n", str(d, "created_at"), age(d, "created_at"));
  return 0;
}

}  // namespace prisn::cli
