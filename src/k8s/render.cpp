// SPDX-License-Identifier: MIT
#include "prisn/k8s/render.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>
#include <utility>

#include "prisn/core/duration.hpp"
#include "prisn/core/hash.hpp"
#include "prisn/cron/cron_expr.hpp"
#include "prisn/model/runtime.hpp"
#include "prisn/model/yaml.hpp"
#include "prisn/proxy/route_table.hpp"

namespace prisn::k8s {
namespace {

using model::Json;

constexpr const char* kLabel = "prisn.io/deployment";
constexpr int kNodePortMin = 30000, kNodePortMax = 32767;  // Kubernetes' default node port range

Json labels(const std::string& name) { return {{kLabel, name}, {"app.kubernetes.io/managed-by", "prisn"}}; }

/// An object of deployment `owner`, named `name` (its ConfigMap is "OWNER-script").
Json metadata(const std::string& name, const std::string& ns, const std::string& owner = {}) {
  return {{"name", name}, {"namespace", ns}, {"labels", labels(owner.empty() ? name : owner)}};
}

std::string interpreter(const std::string& runtime) { return runtime == "python3" ? "python3" : runtime; }

// ConfigMap keys are [-._a-zA-Z0-9]+.
std::string script_key(const model::DeploymentSpec& s) {
  const bool ok = !s.filename.empty() && std::all_of(s.filename.begin(), s.filename.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
  return ok ? s.filename : "script";
}

// Port names are IANA service names: 1-15 lowercase letters, digits and single '-' inside,
// with at least one letter. prisn's names are looser ("8080", long names): those are mapped.
std::string port_name(const std::string& name, std::size_t index) {
  std::string out;
  for (char c : name) {
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool alnum = std::isalnum(static_cast<unsigned char>(l)) != 0;
    if (!alnum && (out.empty() || out.back() == '-')) continue;
    out += alnum ? l : '-';
    if (out.size() == 15) break;
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  const bool has_letter = std::any_of(out.begin(), out.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
  return has_letter ? out : fmt::format("port-{}", index);
}

// The port names of `s` as Kubernetes takes them, unique (two long names may cut alike).
std::vector<std::string> port_names(const model::DeploymentSpec& s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.ports.size(); ++i) {
    auto name = port_name(s.ports[i].name, i);
    if (std::find(out.begin(), out.end(), name) != out.end()) name = fmt::format("port-{}", i);
    out.push_back(std::move(name));
  }
  return out;
}

// Quantities in Kubernetes' canonical form, from the parsed values (prisn also accepts "1G").
std::string memory_quantity(std::uint64_t bytes) {
  for (const auto& [unit, size] : {std::pair{"Gi", 1ULL << 30}, std::pair{"Mi", 1ULL << 20}, std::pair{"Ki", 1ULL << 10}}) {
    if (bytes % size == 0) return fmt::format("{}{}", bytes / size, unit);
  }
  return std::to_string(bytes);
}

// Whole seconds, rounded up (a 1.5 s timeout is 2 s, not 1) and at least 1.
long seconds(Millis ms) {
  return std::max<long>(1, static_cast<long>(std::chrono::ceil<std::chrono::seconds>(ms).count()));
}

// Kubernetes expands $(VAR) in a container's command and in an env value, and turns $$ into $:
// doubled, every $ reaches the process as written, as prisn passes it.
std::string literal(const std::string& arg) {
  std::string out;
  for (char c : arg) {
    out += c;
    if (c == '$') out += '$';
  }
  return out;
}

// A stable hash of the script for the pod template (it marks a change; it guards no secret).
std::string script_hash(const std::string& source) {
  return fmt::format("{:016x}", fnv1a64(source));
}

// A Kubernetes httpGet probe passes on any status from 200 to 399.
bool probe_can_expect(int status) { return status >= 200 && status <= 399; }

Json probe(const model::DeploymentSpec& s) {
  const auto check = model::effective_health_check(s);
  if (!check) return nullptr;
  // A pod that could never be Ready would take no traffic at all: better no probe, noted.
  if (check->kind == model::HealthCheck::Kind::kHttp && check->expected_status != 0 &&
      !probe_can_expect(check->expected_status)) {
    return nullptr;
  }
  const int port = check->port != 0 ? check->port : s.port;
  Json p;
  switch (check->kind) {
    case model::HealthCheck::Kind::kTcp: p["tcpSocket"] = {{"port", port}}; break;
    case model::HealthCheck::Kind::kHttp: p["httpGet"] = {{"path", check->path}, {"port", port}}; break;
    case model::HealthCheck::Kind::kExec: p["exec"] = {{"command", check->command}}; break;
  }
  p["periodSeconds"] = seconds(check->interval);
  p["timeoutSeconds"] = seconds(check->timeout);
  p["failureThreshold"] = check->failure_threshold;
  p["successThreshold"] = check->success_threshold;
  return p;
}

// The container's environment as prisn builds a process's (SPEC 6.2): its own variables, then
// the deployment's env, then its secrets, a later one replacing an earlier one of the same
// name (Kubernetes would keep both and warn).
Json environment(const model::DeploymentSpec& s) {
  Json env = Json::array();
  auto set = [&env](const std::string& name, Json entry) {
    entry["name"] = name;
    for (auto& e : env) {
      if (e["name"] == name) {
        e = std::move(entry);
        return;
      }
    }
    env.push_back(std::move(entry));
  };
  set("PRISN_DEPLOYMENT", {{"value", s.name}});
  set("PRISN_NAMESPACE", {{"value", s.ns}});
  if (s.type == model::DeploymentType::kService) {  // SPEC 6.2: an instance's name, here its pod's
    set("PRISN_INSTANCE", {{"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}});
  } else {  // a run's id: here its Job's name, the same for every retry's pod, as for a prisn execution
    set("PRISN_EXECUTION_ID", {{"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.labels['job-name']"}}}}}});
  }
  if (s.port != 0) set("PORT", {{"value", std::to_string(s.port)}});
  for (const auto& p : s.ports) set(model::port_variable(p.name), {{"value", std::to_string(p.port)}});
  for (const auto& [k, v] : s.env) set(k, {{"value", literal(v)}});
  for (const auto& ref : s.secrets) {
    set(ref.env, {{"valueFrom", {{"secretKeyRef", {{"name", ref.secret}, {"key", ref.key.empty() ? "value" : ref.key}}}}}});
  }
  return env;
}

Json container(const model::DeploymentSpec& s) {
  Json env = environment(s);
  Json command = Json::array({interpreter(s.runtime)});
  for (const auto& option : model::shebang_options(s.source, s.runtime)) command.push_back(literal(option));
  command.push_back("/app/" + script_key(s));
  for (const auto& a : s.args) command.push_back(literal(a));
  Json c = {{"name", s.name},
            {"image", image_for(s.runtime)},
            {"command", command},
            {"env", env},
            {"volumeMounts", Json::array({Json{{"name", "script"}, {"mountPath", "/app"}, {"readOnly", true}}})}};
  if (!s.ports.empty()) {
    Json ports = Json::array();
    const auto names = port_names(s);
    for (std::size_t i = 0; i < s.ports.size(); ++i) {
      ports.push_back({{"name", names[i]}, {"containerPort", s.ports[i].port}, {"protocol", "TCP"}});
    }
    c["ports"] = ports;
  }
  if (auto p = probe(s); !p.is_null()) c["readinessProbe"] = p;
  Json limits = Json::object();
  if (s.resources.memory_bytes != 0) limits["memory"] = memory_quantity(s.resources.memory_bytes);
  if (s.resources.cpu_millis != 0) limits["cpu"] = fmt::format("{}m", s.resources.cpu_millis);
  if (!limits.empty()) c["resources"] = {{"limits", limits}};
  return c;
}

// What prisn does for this deployment that the rendered objects cannot say, each noted in the
// annotation `prisn.io/not-rendered` rather than dropped without a word.
std::vector<std::string> losses(const model::DeploymentSpec& s) {
  std::vector<std::string> out;
  const bool service = s.type == model::DeploymentType::kService;
  if (const auto check = model::effective_health_check(s);
      service && check && check->kind == model::HealthCheck::Kind::kHttp && check->expected_status != 0) {
    out.push_back(probe_can_expect(check->expected_status)
                      ? fmt::format("healthCheck expects status {}; the readiness probe passes on any 200-399",
                                    check->expected_status)
                      : fmt::format("healthCheck expects status {}, which an httpGet probe cannot (it passes on "
                                    "200-399): no readiness probe", check->expected_status));
  }
  if (service && s.restart_policy != model::RestartPolicy::kAlways) {
    out.push_back(fmt::format("restartPolicy {}: a Deployment's pods always restart", model::to_string(s.restart_policy)));
  }
  if (service && (s.load_balancing.algorithm == "least-connections" || s.load_balancing.algorithm == "random")) {
    out.push_back(fmt::format("algorithm {}: a Service spreads connections as its proxy mode does",
                              s.load_balancing.algorithm));
  }
  if (s.resources.pids != 0) {
    out.push_back(fmt::format("resources.pids {}: Kubernetes has no per-container process limit", s.resources.pids));
  }
  return out;
}

void note_losses(Json& object, const std::vector<std::string>& lost) {
  if (!lost.empty()) {
    object["metadata"]["annotations"]["prisn.io/not-rendered"] = fmt::format("{}", fmt::join(lost, "; "));
  }
}

// Secret values never leave prisn: the workload names the secrets it needs, created in the
// cluster with `kubectl create secret generic NAME --from-literal=value=...`.
void note_secrets(Json& object, const model::DeploymentSpec& s) {
  if (s.secrets.empty()) return;
  std::set<std::string> names;
  for (const auto& ref : s.secrets) names.insert(ref.secret);
  object["metadata"]["annotations"]["prisn.io/secrets"] = fmt::format("{}", fmt::join(names, ","));
}

Json pod_spec(const model::DeploymentSpec& s, const char* restart_policy) {
  return {{"restartPolicy", restart_policy},
          {"containers", Json::array({container(s)})},
          {"volumes", Json::array({Json{{"name", "script"}, {"configMap", {{"name", s.name + "-script"}}}}})}};
}

Json config_map(const model::DeploymentSpec& s) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", metadata(s.name + "-script", s.ns, s.name)},
          {"data", {{script_key(s), s.source}}}};
}

Json deployment(const model::DeploymentSpec& s) {
  // The ConfigMap alone changing would not restart the pods: the hash makes it a new template.
  Json template_meta = {{"labels", labels(s.name)}, {"annotations", {{"prisn.io/script-hash", script_hash(s.source)}}}};
  Json out = {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", metadata(s.name, s.ns)},
          {"spec", {{"replicas", s.replicas},
                    {"selector", {{"matchLabels", {{kLabel, s.name}}}}},
                    {"template", {{"metadata", template_meta}, {"spec", pod_spec(s, "Always")}}}}}};
  note_secrets(out, s);
  note_losses(out, losses(s));
  return out;
}

Json service(const model::DeploymentSpec& s) {
  Json ports = Json::array();
  const auto names = port_names(s);
  for (std::size_t i = 0; i < s.ports.size(); ++i) {
    Json p = {{"name", names[i]}, {"port", s.ports[i].port}, {"targetPort", s.ports[i].port},
              {"protocol", "TCP"}};
    const int node_port = s.expose.node_port;
    if (i == 0 && s.expose.kind == model::Expose::Kind::kNodePort && node_port >= kNodePortMin && node_port <= kNodePortMax) {
      p["nodePort"] = node_port;
    }
    ports.push_back(p);
  }
  Json out = {{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", metadata(s.name, s.ns)},
              {"spec", {{"selector", {{kLabel, s.name}}}, {"ports", ports}}}};
  const auto& lb = s.load_balancing;
  const bool ip_affinity = lb.affinity.enabled && lb.affinity.type == "ip-hash";
  if (ip_affinity || lb.algorithm == "ip-hash") {
    // Kubernetes keeps a client on one pod for at most a day; ip-hash alone has no expiry.
    constexpr long kMaxClientIpTimeout = 86400;
    const long timeout = ip_affinity ? std::min(kMaxClientIpTimeout, seconds(lb.affinity.ttl)) : kMaxClientIpTimeout;
    out["spec"]["sessionAffinity"] = "ClientIP";
    out["spec"]["sessionAffinityConfig"] = {{"clientIP", {{"timeoutSeconds", timeout}}}};
  } else if (lb.affinity.enabled) {
    out["metadata"]["annotations"]["prisn.io/session-affinity"] =
        fmt::format("{} (ttl {}): no Kubernetes Service equivalent; an ingress controller's own setting may give it",
                    lb.affinity.type, format_duration(lb.affinity.ttl));
  }
  if (s.expose.kind == model::Expose::Kind::kNodePort) {
    out["spec"]["type"] = "NodePort";
    if (s.expose.node_port < kNodePortMin || s.expose.node_port > kNodePortMax) {
      // Outside the cluster's range: the cluster picks one; the wanted port is noted.
      out["metadata"]["annotations"]["prisn.io/node-port"] = std::to_string(s.expose.node_port);
    }
  }
  return out;
}

// Kubernetes' Prefix also matches on whole segments; route_path() turns the seed's "/app/*"
// into the "/app" a Prefix path must be.
Json ingress_rule(const std::string& host, const std::string& path, const std::string& service, int port) {
  Json rule = {{"http", {{"paths", Json::array({Json{{"path", proxy::route_path(path)},
                                                      {"pathType", "Prefix"},
                                                      {"backend", {{"service", {{"name", service},
                                                                                {"port", {{"number", port}}}}}}}}})}}}};
  if (!host.empty()) rule["host"] = host;
  return rule;
}

Json exposed_ingress(const model::DeploymentSpec& s, const std::string& name) {
  Json spec = {{"rules", Json::array({ingress_rule(s.expose.host, s.expose.path, s.name, s.port)})}};
  if (s.expose.tls) {
    // Without a certificate named, the ingress controller's default one (or cert-manager's)
    // serves the host, as prisn's own certificates or ACME would.
    Json tls = {{"hosts", Json::array({s.expose.host})}};
    if (!s.expose.tls_cert.empty()) tls["secretName"] = s.expose.tls_cert;
    spec["tls"] = Json::array({tls});
  }
  Json meta = metadata(name, s.ns, s.name);
  return {{"apiVersion", "networking.k8s.io/v1"}, {"kind", "Ingress"}, {"metadata", meta}, {"spec", spec}};
}

// Kubernetes' cron parser knows no day-of-week 7 and no range that wraps to Sunday;
// unrenderable() has set aside the schedules it would read otherwise.
std::string k8s_schedule(const std::string& schedule) {
  auto expr = cron::CronExpr::parse(schedule);
  return expr ? expr->portable_text().value_or(schedule) : schedule;
}

Json cron_job(const model::DeploymentSpec& s, const RenderOptions& options) {
  const bool on_demand = s.type == model::DeploymentType::kJob;
  const std::string name = cron_job_name(s.name);
  Json job_spec = {{"backoffLimit", s.restart_policy == model::RestartPolicy::kOnFailure ? 6 : 0},
                   {"template", {{"metadata", {{"labels", labels(s.name)}}},
                                 {"spec", pod_spec(s, s.restart_policy == model::RestartPolicy::kOnFailure ? "OnFailure" : "Never")}}}};
  if (s.timeout) job_spec["activeDeadlineSeconds"] = seconds(*s.timeout);
  Json out = {{"apiVersion", "batch/v1"},
              {"kind", "CronJob"},
              {"metadata", metadata(name, s.ns, s.name)},
              {"spec", {{"schedule", on_demand ? "0 0 1 1 *" : k8s_schedule(s.schedule)},
                        {"concurrencyPolicy", "Forbid"},
                        {"suspend", on_demand},
                        {"successfulJobsHistoryLimit", 3},
                        {"failedJobsHistoryLimit", 3},
                        {"jobTemplate", {{"spec", job_spec}}}}}};
  // prisn runs cron in the node's local time (SPEC 6.5); the cluster's controller would use its own.
  if (!on_demand && !options.time_zone.empty()) out["spec"]["timeZone"] = options.time_zone;
  if (on_demand) {
    out["metadata"]["annotations"]["prisn.io/trigger"] =
        fmt::format("kubectl create job --from=cronjob/{} {}-manual", name, name);
  }
  note_secrets(out, s);
  auto lost = losses(s);
  if (!on_demand && options.time_zone.empty()) {
    lost.push_back("the node's time zone has no IANA name: no timeZone, so the schedule runs in the controller's");
  }
  note_losses(out, lost);
  return out;
}

// The Service port an Ingress backend names when its rule gives none: the deployment's port,
// its first one (decoding sets it from `ports`), as prisn's own router picks it. The controller
// leaves out a path without a port to a deployment that does not exist (control/k8s.cpp); 80 is
// only for a caller that gives one.
int port_of(const RenderOptions& options, const std::string& name, int port) {
  if (port != 0) return port;
  const auto it = options.first_ports.find(name);
  return it != options.first_ports.end() && it->second != 0 ? it->second : 80;
}

Json ingress(const model::IngressSpec& ing, const RenderOptions& options) {
  Json rules = Json::array();
  for (const auto& rule : ing.rules) {
    Json paths = Json::array();
    for (const auto& p : rule.paths) {
      paths.push_back(ingress_rule("", p.path, p.deployment, port_of(options, p.deployment, p.port))["http"]["paths"][0]);
    }
    Json r = {{"http", {{"paths", paths}}}};
    if (!rule.host.empty()) r["host"] = rule.host;
    rules.push_back(r);
  }
  Json spec = {{"rules", rules}};
  if (!ing.tls.empty()) {
    Json tls = Json::array();
    for (const auto& t : ing.tls) tls.push_back({{"hosts", t.hosts}, {"secretName", t.secret_name}});
    spec["tls"] = tls;
  }
  return {{"apiVersion", "networking.k8s.io/v1"},
          {"kind", "Ingress"},
          {"metadata", {{"name", ing.name}, {"namespace", ing.ns}, {"labels", {{"app.kubernetes.io/managed-by", "prisn"}}}}},
          {"spec", spec}};
}

Json network_policy(const model::NetworkPolicySpec& pol) {
  Json rules = Json::array();
  for (const auto& rule : pol.ingress) {
    Json from = Json::array();
    for (const auto& d : rule.from) from.push_back({{"podSelector", {{"matchLabels", {{kLabel, d}}}}}});
    Json r = {{"from", from}};
    if (!rule.ports.empty()) {
      Json ports = Json::array();
      for (auto p : rule.ports) ports.push_back({{"protocol", "TCP"}, {"port", p}});
      r["ports"] = ports;
    }
    rules.push_back(r);
  }
  // prisn filters only traffic between instances (the node's proxies are never filtered);
  // Kubernetes filters every peer, the ingress controller's pods and NodePort clients too.
  const Json annotations = {{"prisn.io/note", "prisn filtered only traffic from other deployments; on Kubernetes this "
                                              "also blocks the ingress controller and NodePort clients unless another "
                                              "rule or policy admits them"}};
  return {{"apiVersion", "networking.k8s.io/v1"},
          {"kind", "NetworkPolicy"},
          {"metadata", {{"name", pol.name},
                        {"namespace", pol.ns},
                        {"labels", {{"app.kubernetes.io/managed-by", "prisn"}}},
                        {"annotations", annotations}}},
          {"spec", {{"podSelector", {{"matchLabels", {{kLabel, pol.target}}}}},
                    {"policyTypes", Json::array({"Ingress"})},
                    {"ingress", rules}}}};
}

}  // namespace

std::string image_for(const std::string& runtime) {
  if (runtime == "python3") return "python:3.11-slim";
  if (runtime == "bash") return "bash:5.2";
  if (runtime == "sh") return "busybox:1.36";
  if (runtime == "node") return "node:20-slim";
  if (runtime == "ruby") return "ruby:3.2-slim";
  if (runtime == "perl") return "perl:5.38-slim";
  if (runtime == "php") return "php:8.2-cli";
  return "debian:12-slim";
}

std::string cron_job_name(const std::string& deployment) {
  constexpr std::size_t kMax = 52;
  if (deployment.size() <= kMax) return deployment;
  // FNV-1a: a stable hash, the same on every node and release.
  std::uint32_t hash = 2166136261u;
  for (unsigned char c : deployment) hash = (hash ^ c) * 16777619u;
  std::string head = deployment.substr(0, kMax - 6);
  while (!head.empty() && head.back() == '-') head.pop_back();
  return fmt::format("{}-{:05x}", head, hash & 0xfffff);
}

// The objects after a Namespace for each namespace they name other than "default" (which
// every cluster has), so that `kubectl apply -f -` works on a cluster that lacks it.
std::vector<Json> with_namespaces(std::vector<Json> objects) {
  std::vector<Json> out;
  std::set<std::string> named;
  for (const auto& o : objects) {
    const std::string ns = o["metadata"].value("namespace", "default");
    if (ns != "default" && named.insert(ns).second) {
      out.push_back({{"apiVersion", "v1"},
                     {"kind", "Namespace"},
                     {"metadata", {{"name", ns}, {"labels", {{"app.kubernetes.io/managed-by", "prisn"}}}}}});
    }
  }
  out.insert(out.end(), std::make_move_iterator(objects.begin()), std::make_move_iterator(objects.end()));
  return out;
}

std::vector<Json> objects(const std::vector<model::DeploymentSpec>& deployments,
                          const std::vector<model::IngressSpec>& ingresses,
                          const std::vector<model::NetworkPolicySpec>& policies, const RenderOptions& options) {
  // What an Ingress may name, from the objects rendered here as well as the caller's.
  RenderOptions known = options;
  for (const auto& i : ingresses) known.ingress_names.insert(i.name);
  for (const auto& d : deployments) {
    known.first_ports.try_emplace(d.name, d.port);
    if (d.expose.kind == model::Expose::Kind::kIngress) known.exposing.insert(d.name);
  }
  std::vector<Json> out;
  for (const auto& d : deployments) {
    out.push_back(config_map(d));
    if (d.type == model::DeploymentType::kService) {
      out.push_back(deployment(d));
      if (!d.ports.empty()) out.push_back(service(d));
      if (d.expose.kind == model::Expose::Kind::kIngress) {
        out.push_back(exposed_ingress(d, exposed_ingress_name(d.name, known)));
      }
    } else {
      out.push_back(cron_job(d, options));
    }
  }
  for (const auto& i : ingresses) out.push_back(ingress(i, known));
  for (const auto& p : policies) out.push_back(network_policy(p));
  return with_namespaces(std::move(out));
}

std::string exposed_ingress_name(const std::string& deployment, const RenderOptions& names) {
  if (!names.ingress_names.contains(deployment)) return deployment;
  const auto taken = [&](const std::string& n) { return names.ingress_names.contains(n) || names.exposing.contains(n); };
  std::string name = deployment + "-expose";
  for (int n = 2; taken(name); ++n) name = fmt::format("{}-expose-{}", deployment, n);
  return name;
}

std::string unrenderable(const model::DeploymentSpec& d) {
  const bool has_service = d.type == model::DeploymentType::kService && !d.ports.empty();
  if (has_service && !d.name.empty() && (d.name.front() < 'a' || d.name.front() > 'z')) {
    return fmt::format("deployment '{}': a Kubernetes Service name must begin with a letter; "
                       "deploy it under a name that does to render it",
                       d.name);
  }
  if (d.type == model::DeploymentType::kCron) {
    if (auto expr = cron::CronExpr::parse(d.schedule); expr && !expr->portable_text()) {
      return fmt::format("deployment '{}': Kubernetes would run its schedule \"{}\" on other days: a day field with "
                         "a step (such as */2) with the other day field restricted means both to prisn, either to "
                         "Kubernetes' cron, and no schedule says both there",
                         d.name, d.schedule);
    }
  }
  if (d.expose.kind == model::Expose::Kind::kIngress) {
    if (auto why = unrenderable_path(d.expose.path); !why.empty()) {
      return fmt::format("deployment '{}': its expose.path {}", d.name, why);
    }
    if (auto why = unrenderable_host(d.expose.host); !why.empty()) {
      return fmt::format("deployment '{}': its expose.host {}", d.name, why);
    }
  }
  constexpr std::size_t kConfigMapLimit = 1024 * 1024;  // the API server's limit on a ConfigMap's data
  if (d.source.size() + script_key(d).size() > kConfigMapLimit) {
    return fmt::format("deployment '{}': its script ({} bytes) does not fit in a ConfigMap (1 MiB)", d.name,
                       d.source.size());
  }
  return {};
}

namespace {

// Four dot-separated decimal octets. Written here rather than taken from inet_pton: the API
// server's parser (Go's ParseIPSloppy) also takes octets with leading zeros ("010.1.2.3"),
// which inet_pton refuses.
bool is_dotted_quad(std::string_view host) {
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  for (int octet = 1;; ++octet) {
    const auto dot = host.find('.');
    const auto digits = host.substr(0, dot);
    if (digits.empty() || digits.size() > 3 || !std::all_of(digits.begin(), digits.end(), is_digit) ||
        std::stoi(std::string(digits)) > 255) {
      return false;
    }
    if (dot == std::string_view::npos) return octet == 4;
    host.remove_prefix(dot + 1);
  }
}

}  // namespace

std::string unrenderable_host(const std::string& host) {
  // The API server's rule for an Ingress rule's host: "must be a DNS name, not an IP address";
  // prisn routes a dotted-quad Host as it routes a name.
  if (!is_dotted_quad(host)) return {};
  return fmt::format("'{}' is an IP address, which a Kubernetes Ingress host cannot be", host);
}

std::string unrenderable_path(const std::string& path) {
  const std::string rendered = proxy::route_path(path);
  // The API server's invalidPathSequences; route_path() has already removed "//" and dot segments.
  if (rendered.find("%2F") == std::string::npos && rendered.find("%2f") == std::string::npos) return {};
  return fmt::format("'{}' holds an encoded slash (%2F), which a Kubernetes Ingress path cannot", path);
}

std::string to_yaml(const std::vector<Json>& objects) {
  std::string out;
  for (const auto& o : objects) {
    out += "---\n";
    out += model::to_yaml(o, model::YamlStrings::kQuoted);
  }
  return out;
}

}  // namespace prisn::k8s
