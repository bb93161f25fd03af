// SPDX-License-Identifier: MIT
// prisn proxy stats, prisn proxy trace: the routers' view, through the API.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands/commands.hpp"
#include "cli/fields.hpp"
#include "cli/table.hpp"

namespace prisn::cli {
namespace {

std::string millis(const Json& v) {
  if (!v.is_number()) return "-";
  const double ms = v.get<double>();
  return ms < 10 ? fmt::format("{:.1f}ms", ms) : fmt::format("{:.0f}ms", ms);
}

}  // namespace

int proxy_stats_command(Cli& cli) {
  const Json stats = cli.call("GET", "/api/v1/proxy/stats" + cli.ns_query());
  if (cli.structured_output()) {
    cli.print_structured(stats);
    return 0;
  }
  std::vector<std::string> headers = {"Service", "Requests", "Errors", "Latency (p99)"};
  if (cli.wide()) headers.insert(headers.end(), {"Latency (p50)", "Active", "Protocol"});
  Table t(headers);
  for (const auto& s : stats["items"]) {
    std::vector<std::string> row = {str(s, "route"), str(s, "requests", "0"), str(s, "errors", "0"),
                                    millis(s.contains("p99_ms") ? s["p99_ms"] : Json())};
    if (cli.wide()) {
      row.insert(row.end(), {millis(s.contains("p50_ms") ? s["p50_ms"] : Json()), str(s, "active", "0"), str(s, "protocol")});
    }
    t.add(row);
  }
  print_table(t, "No traffic yet.");
  return 0;
}

int proxy_trace_command(Cli& cli, const std::string& target) {
  const Json trace = cli.call("POST", "/api/v1/proxy/trace" + cli.ns_query(), Json{{"target", target}});
  if (cli.structured_output()) {
    cli.print_structured(trace);
    return trace["selected"].is_object() && !trace["response"].is_null() ? 0 : 1;  // as the table's exit
  }
  // The seed's three lines (Resolves to, Selected, Response), then what matched and why.
  std::string list;
  for (const auto& r : trace["resolved"]) list += (list.empty() ? "" : ", ") + r.get<std::string>();
  std::cout << "Resolves to: " << (list.empty() ? "no healthy instance" : list) << "\n";
  const auto& sel = trace["selected"];
  // An ingress by its own name, then the deployment it routes to; the rest by the deployment.
  std::string route = trace.contains("ingress") && trace["ingress"].is_string()
                          ? fmt::format("Route: ingress {}/{}, deployment {}", str(trace, "namespace"),
                                        str(trace, "ingress"), str(trace, "deployment"))
                          : fmt::format("Route: {} {}/{}", str(trace, "via"), str(trace, "namespace"),
                                        str(trace, "deployment"));
  if (sel.is_object()) {
    std::cout << fmt::format("Selected: {} ({})\n", str(sel, "address"), str(sel, "algorithm"));
    route += fmt::format("; instance {}: {}", str(sel, "instance"), str(sel, "reason"));
  }
  if (sel.is_null() || trace["response"].is_null()) {
    std::cout << route << "\n";
    std::cout.flush();
    if (sel.is_null()) Cli::fail(fmt::format("{}: {}", target, str(trace, "error", "no healthy instance to send to")));
    Cli::fail(fmt::format("Response: none ({})", str(trace, "error")));
  }
  const auto& response = trace["response"];
  const std::string status = response.contains("status") && response["status"].is_number()
                                 ? std::to_string(response["status"].get<int>()) + " "
                                 : "";  // a port that does not speak HTTP: only the reason
  std::cout << fmt::format("Response: {}{} ({})\n", status, str(response, "reason"), millis(trace["latency_ms"]));
  std::cout << route << "\n";
  return 0;
}

}  // namespace prisn::cli
