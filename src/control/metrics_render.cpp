// SPDX-License-Identifier: MIT
// Controller::metrics(): SPEC §8's metric families, plus process metrics.
#include <unistd.h>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "control/controller_impl.hpp"
#include "prisn/dns/message.hpp"
#include "prisn/process/proc.hpp"

namespace prisn::control {
namespace {

struct ProcessSample {
  double cpu_seconds = 0;
  double start_time = 0;
  double virtual_bytes = 0;
};

ProcessSample sample_self() {
  ProcessSample s;
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  const auto close = text.rfind(')');
  if (close == std::string::npos) return s;
  std::istringstream rest(text.substr(close + 2));
  std::vector<std::string> f;
  std::string w;
  while (rest >> w) f.push_back(w);
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  if (f.size() > 20) {
    s.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
    std::ifstream boot("/proc/stat");
    std::string key;
    double btime = 0;
    while (boot >> key) {
      if (key == "btime") {
        boot >> btime;
        break;
      }
    }
    s.start_time = btime + std::stod(f[19]) / ticks;
    s.virtual_bytes = std::stod(f[20]);
  }
  return s;
}

double open_fds() {
  std::error_code ec;
  double n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

void render_requests_by_code(MetricsText& m, const std::string& route, const proxy::RouteStats& stats) {
  for (std::size_t code = 100; code < stats.by_code.size(); ++code) {
    const auto n = stats.by_code[code].load(std::memory_order_relaxed);
    if (n > 0) m.sample("prisn_proxy_requests_total", {{"route", route}, {"code", std::to_string(code)}}, static_cast<double>(n));
  }
}

template <class Targets>
void render_l7(MetricsText& m, const Targets& targets, const proxy::RouteStats& unrouted) {
  m.family("prisn_proxy_requests_total", "HTTP requests through the L7 router, by route and status code.", "counter");
  for (const auto& [key, state] : targets) {
    const auto& [ns, name, port] = key;
    render_requests_by_code(m, port == 0 ? name + "." + ns : fmt::format("{}.{}:{}", name, ns, port), *state.stats);
  }
  render_requests_by_code(m, "none", unrouted);  // no route took them (404, or 400 for a bad Host)
  m.family("prisn_proxy_request_duration_seconds", "Time from a request's header to the end of its answer.", "histogram");
  for (const auto& [key, state] : targets) {
    const auto& [ns, name, port] = key;
    const Labels base = {{"route", port == 0 ? name + "." + ns : fmt::format("{}.{}:{}", name, ns, port)}};
    const auto& s = *state.stats;
    double cumulative = 0;
    for (std::size_t i = 0; i <= proxy::LatencyHistogram::kBounds.size(); ++i) {
      cumulative += static_cast<double>(s.latency.buckets[i].load(std::memory_order_relaxed));
      Labels l = base;
      l.emplace_back("le", i < proxy::LatencyHistogram::kBounds.size() ? fmt::format("{}", proxy::LatencyHistogram::kBounds[i]) : "+Inf");
      m.sample("prisn_proxy_request_duration_seconds_bucket", l, cumulative);
    }
    m.sample("prisn_proxy_request_duration_seconds_sum", base, static_cast<double>(s.latency.sum_us.load()) / 1e6);
    m.sample("prisn_proxy_request_duration_seconds_count", base, cumulative);
  }
}

void render_dns(MetricsText& m, const dns::ServerStats& s) {
  m.family("prisn_dns_queries_total", "DNS queries answered, by response code.", "counter");
  for (std::size_t rc = 0; rc < dns::ServerStats::kRcodes; ++rc) {
    const auto n = s.replies[rc].load(std::memory_order_relaxed);
    // The common codes always, so rate() works from the first scrape; others once seen.
    if (n == 0 && rc > dns::rcode::kRefused) continue;
    m.sample("prisn_dns_queries_total", {{"rcode", dns::rcode_name(static_cast<std::uint16_t>(rc))}},
             static_cast<double>(n));
  }
  struct Counter {
    const char* name;
    const char* help;
    const std::atomic<std::uint64_t>& value;
  };
  const Counter counters[] = {
      {"prisn_dns_forwarded_total", "Queries sent to upstream resolvers.", s.forwarded},
      {"prisn_dns_cache_hits_total", "Forwarded names answered from the cache.", s.cache_hits},
      {"prisn_dns_upstream_failures_total", "Forwarded queries answered SERVFAIL: no upstream answered in time.",
       s.upstream_failures},
      {"prisn_dns_forwards_refused_total", "Forwarded queries answered SERVFAIL: too many already in flight.",
       s.forwards_refused},
      {"prisn_dns_truncated_total", "UDP answers sent truncated (TC), so the client retries over TCP.", s.truncated},
      {"prisn_dns_dropped_total", "Datagrams not answered: shorter than a header, or responses.", s.dropped},
  };
  for (const auto& c : counters) {
    m.family(c.name, c.help, "counter");
    m.sample(c.name, {}, static_cast<double>(c.value.load(std::memory_order_relaxed)));
  }
}

}  // namespace

std::string Controller::metrics() const {
  const auto& d = *impl_;
  MetricsText m;
  const auto deployments = d.ctx.store.list_deployments("");
  m.family("prisn_deployments", "Deployments known to prisnd.", "gauge");
  m.sample("prisn_deployments", {}, static_cast<double>(deployments.size()));

  m.family("prisn_instances", "Service instances by state.", "gauge");
  std::vector<std::pair<Labels, std::uint64_t>> restarts;
  for (const auto* rec : deployments) {
    if (rec->spec.type != model::DeploymentType::kService) continue;
    int healthy = 0, unhealthy = 0, draining = 0, backoff = 0, exited = 0, waiting = 0;
    for (const auto& ep : d.services.endpoints(rec->spec.ns, rec->spec.name)) {
      if (ep.state != "Running") ++draining;
      else if (ep.healthy) ++healthy;
      else ++unhealthy;
    }
    // Instances with no process: every desired instance is in exactly one state.
    for (const auto& down : d.services.down_instances(rec->spec.ns, rec->spec.name)) {
      ++(down.state == "BackOff" ? backoff : down.state == "Waiting" ? waiting : exited);
    }
    const Labels base = {{"namespace", rec->spec.ns}, {"deployment", rec->spec.name}};
    for (auto [state, n] : {std::pair{"healthy", healthy}, std::pair{"unhealthy", unhealthy},
                            std::pair{"stopping", draining}, std::pair{"backoff", backoff},
                            std::pair{"exited", exited}, std::pair{"waiting", waiting}}) {
      Labels l = base;
      l.emplace_back("state", state);
      m.sample("prisn_instances", l, n);
    }
    restarts.emplace_back(base, d.services.status(*rec).restarts_total);
  }
  m.family("prisn_instance_restarts_total", "Restarts of service instances after they exited.", "counter");
  for (const auto& [labels, n] : restarts) {
    m.sample("prisn_instance_restarts_total", labels, static_cast<double>(n));
  }

  m.family("prisn_executions_total", "Executions that ended, by deployment and status.", "counter");
  for (const auto& [key, count] : d.executions_total) {
    const auto& [ns, dep, status] = key;
    m.sample("prisn_executions_total", {{"namespace", ns}, {"deployment", dep}, {"status", status}},
             static_cast<double>(count));
  }
  m.family("prisn_executions_running", "Executions running now.", "gauge");
  m.sample("prisn_executions_running", {}, static_cast<double>(d.runner.active_count()));
  m.family("prisn_execution_duration_seconds", "Run time of ended executions.", "histogram");
  d.execution_duration.render(m, "prisn_execution_duration_seconds", {});
  m.family("prisn_cron_skipped_ticks_total", "Cron ticks skipped because the previous run was still going.", "counter");
  m.sample("prisn_cron_skipped_ticks_total", {}, static_cast<double>(d.cron.skipped_total()));

  m.family("prisn_health_checks_total", "Health check probes by result.", "counter");
  m.sample("prisn_health_checks_total", {{"result", "pass"}}, static_cast<double>(d.checker.stats().passed.load()));
  m.sample("prisn_health_checks_total", {{"result", "fail"}}, static_cast<double>(d.checker.stats().failed.load()));

  m.family("prisn_proxy_connections_total", "Connections accepted on published ports (L4).", "counter");
  const auto l4 = d.l4.stats();
  for (const auto& [listener, s] : l4) {
    m.sample("prisn_proxy_connections_total", {{"listener", listener}}, static_cast<double>(s->connections.load()));
  }
  m.family("prisn_proxy_connection_failures_total", "L4 connections closed because no instance could be reached.", "counter");
  for (const auto& [listener, s] : l4) {
    m.sample("prisn_proxy_connection_failures_total", {{"listener", listener}}, static_cast<double>(s->failed.load()));
  }
  m.family("prisn_proxy_active_connections", "Open L4 connections.", "gauge");
  for (const auto& [listener, s] : l4) {
    m.sample("prisn_proxy_active_connections", {{"listener", listener}}, static_cast<double>(s->active.load()));
  }

  render_l7(m, d.targets, *d.unrouted);
  // With --dns off the families are still there, at zero, as the proxy's are with --http off:
  // a dashboard or alert that names them finds them on every node.
  static const dns::ServerStats kNoDns;
  render_dns(m, d.options.dns != nullptr ? d.options.dns->stats() : kNoDns);

  const auto self = sample_self();
  m.family("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge");
  m.sample("process_resident_memory_bytes", {}, static_cast<double>(process::self_rss_bytes()));
  m.family("process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge");
  m.sample("process_virtual_memory_bytes", {}, self.virtual_bytes);
  m.family("process_cpu_seconds_total", "User and system CPU time spent in seconds.", "counter");
  m.sample("process_cpu_seconds_total", {}, self.cpu_seconds);
  m.family("process_open_fds", "Number of open file descriptors.", "gauge");
  m.sample("process_open_fds", {}, open_fds());
  m.family("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.", "gauge");
  m.sample("process_start_time_seconds", {}, self.start_time);
  return m.text();
}

}  // namespace prisn::control
