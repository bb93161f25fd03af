// SPDX-License-Identifier: MIT
#include "prisn/model/deployment_json.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/algorithm/string/case_conv.hpp>
#include <set>

#include "prisn/core/names.hpp"
#include "prisn/cron/cron_expr.hpp"
#include "prisn/model/document.hpp"
#include "prisn/model/exec_limits.hpp"
#include "prisn/model/ingress.hpp"
#include "prisn/model/secret.hpp"
#include "prisn/model/quantity.hpp"
#include "prisn/model/runtime.hpp"

namespace prisn::model {
namespace {

constexpr int kMaxReplicas = 1000;
constexpr std::size_t kMaxArgs = 1024;
constexpr std::size_t kMaxEnv = 1024;

Error invalid(std::string msg) { return Error::invalid(std::move(msg)); }

bool is_env_name(std::string_view s) {
  if (s.empty() || s.size() > 256 || (s[0] >= '0' && s[0] <= '9')) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

Result<Millis> duration_field(const Json* v, const std::string& path) {
  auto d = duration_value(*v);
  if (!d) return invalid(path + ": " + d.error().message);
  return *d;
}

Result<std::uint16_t> port_value(const Json& v, const std::string& path) {
  if (!v.is_number_integer() || v.get<long long>() < 1 || v.get<long long>() > 65535) {
    return invalid(path + ": must be a port number from 1 to 65535");
  }
  return static_cast<std::uint16_t>(v.get<long long>());
}

// "NAME:ENV", "NAME/KEY:ENV" or {"secret": NAME, "env": ENV, "key": KEY}.
Result<SecretRef> secret_ref(const Json& v, const std::string& path) {
  SecretRef ref;
  if (v.is_string()) {
    const std::string text = v.get<std::string>();
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) {
      return invalid(path + ": must be NAME:ENV or NAME/KEY:ENV");
    }
    ref.env = text.substr(colon + 1);
    std::string name = text.substr(0, colon);
    if (const auto slash = name.find('/'); slash != std::string::npos) {
      ref.key = name.substr(slash + 1);
      name = name.substr(0, slash);
      if (ref.key.empty()) return invalid(path + ": the KEY after '/' is empty: NAME/KEY:ENV");
    }
    ref.secret = name;
  } else if (v.is_object()) {
    ObjectReader r(v, path);
    auto secret = r.string("secret");
    if (!secret) return secret.error();
    if (secret->empty()) {
      auto name = r.string("name");
      if (!name) return name.error();
      secret = *name;
    }
    auto env = r.string("env");
    if (!env) return env.error();
    auto key = r.string("key");
    if (!key) return key.error();
    if (auto done = r.finish(); !done) return done.error();
    ref = {*secret, *key, *env};
  } else {
    return invalid(path + ": must be an object {\"secret\": NAME, \"env\": ENV}");
  }
  if (auto ok = validate_name(path + ".secret", ref.secret); !ok) return ok.error();
  if (!is_env_name(ref.env)) {
    return invalid(path + ".env: not a valid environment variable name");
  }
  if (!ref.key.empty() && !is_secret_key(ref.key)) {
    return invalid(path + ".key: not a key a secret can hold (letters, digits, '-', '_' and '.', at most 253)");
  }
  return ref;
}

// An HTTP check's path goes into the request line as written: a path and query of visible
// ASCII, or a space or CR/LF in it would split the request (RFC 9112 §3.2).
constexpr const char* kCheckPathRule = "must start with '/' and hold only visible ASCII (no spaces or control characters)";
bool is_check_path(std::string_view p) {
  return !p.empty() && p.front() == '/' && p.size() <= 4096 &&
         std::all_of(p.begin(), p.end(), [](char c) { return c > ' ' && c < 0x7f && c != '#'; });
}

// A path stored before that rule: the bytes it refuses percent-encoded, so the deployment
// still loads and its check asks for the path that was meant.
std::string repaired_check_path(std::string_view p) {
  std::string out = p.starts_with('/') ? "" : "/";
  for (const char c : p) {
    const bool visible = c > ' ' && c < 0x7f && c != '#';
    out += visible ? std::string(1, c) : fmt::format("%{:02X}", static_cast<unsigned char>(c));
  }
  return out;
}

Result<HealthCheck> health_check(const Json& v, const std::string& path, bool stored) {
  if (!v.is_object()) {
    return invalid(path + ": must be an object");
  }
  ObjectReader r(v, path);
  HealthCheck hc;
  int kinds = 0;
  if (const Json* tcp = r.get("tcp")) {
    ++kinds;
    hc.kind = HealthCheck::Kind::kTcp;
    if (!tcp->is_object()) return invalid(path + ".tcp: must be an object");
    ObjectReader t(*tcp, path + ".tcp");
    auto port = t.integer("port", 0, 0, 65535);
    if (!port) return port.error();
    hc.port = static_cast<std::uint16_t>(*port);
    if (auto done = t.finish(); !done) return done.error();
  }
  if (const Json* http = r.get("http")) {
    ++kinds;
    hc.kind = HealthCheck::Kind::kHttp;
    if (!http->is_object()) return invalid(path + ".http: must be an object");
    ObjectReader h(*http, path + ".http");
    auto p = h.string("path", "/");
    if (!p) return p.error();
    if (!is_check_path(*p) && !stored) return invalid(path + ".http.path: " + kCheckPathRule);
    hc.path = is_check_path(*p) ? *p : repaired_check_path(*p);
    auto port = h.integer("port", 0, 0, 65535);
    if (!port) return port.error();
    hc.port = static_cast<std::uint16_t>(*port);
    auto status = h.integer("expectedStatus", 0, 100, 599);
    if (!status) return status.error();
    hc.expected_status = static_cast<int>(*status);
    if (auto done = h.finish(); !done) return done.error();
  }
  if (const Json* exec = r.get("exec")) {
    ++kinds;
    hc.kind = HealthCheck::Kind::kExec;
    if (!exec->is_object()) return invalid(path + ".exec: must be an object");
    ObjectReader e(*exec, path + ".exec");
    auto cmd = decode_args(e.get("command"), path + ".exec.command", 256);
    if (!cmd) return cmd.error();
    if (cmd->empty()) return invalid(path + ".exec.command: must not be empty");
    hc.command = *cmd;
    if (auto done = e.finish(); !done) return done.error();
  }
  if (kinds > 1) {
    return invalid(path + ": give one of tcp, http or exec");
  }
  // Timing fields alone tune the default check, TCP on the instance's port (SPEC §7.3), as
  // a user who only wants a shorter interval expects.
  if (kinds == 0) hc.kind = HealthCheck::Kind::kTcp;
  for (auto [key, target] : {std::pair{"interval", &hc.interval}, std::pair{"timeout", &hc.timeout}}) {
    if (const Json* d = r.get(key)) {
      auto parsed = duration_field(d, r.path(key));
      if (!parsed) return parsed.error();
      if (parsed->count() < 100) return invalid(r.path(key) + ": must be at least 100ms");
      *target = *parsed;
    }
  }
  auto fail = r.integer("failureThreshold", 3, 1, 100);
  if (!fail) return fail.error();
  auto succ = r.integer("successThreshold", 1, 1, 100);
  if (!succ) return succ.error();
  hc.failure_threshold = static_cast<int>(*fail);
  hc.success_threshold = static_cast<int>(*succ);
  if (auto done = r.finish(); !done) return done.error();
  return hc;
}

// The seed's loadBalancing.healthCheck {path, interval, timeout, threshold} as an HTTP check.
Result<HealthCheck> seed_health_check(const Json& v, const std::string& path) {
  if (!v.is_object()) return invalid(path + ": must be an object");
  ObjectReader r(v, path);
  HealthCheck hc;
  hc.kind = HealthCheck::Kind::kHttp;
  auto p = r.string("path", "/");
  if (!p) return p.error();
  if (!is_check_path(*p)) return invalid(path + ".path: " + kCheckPathRule);
  hc.path = *p;
  for (auto [key, target] : {std::pair{"interval", &hc.interval}, std::pair{"timeout", &hc.timeout}}) {
    if (const Json* d = r.get(key)) {
      auto parsed = duration_field(d, r.path(key));
      if (!parsed) return parsed.error();
      *target = *parsed;
    }
  }
  auto threshold = r.integer("threshold", 3, 1, 100);
  if (!threshold) return threshold.error();
  hc.failure_threshold = static_cast<int>(*threshold);
  if (auto done = r.finish(); !done) return done.error();
  return hc;
}

Result<void> load_balancing(const Json& v, const std::string& path, DeploymentSpec& spec) {
  if (!v.is_object()) return invalid(path + ": must be an object");
  ObjectReader r(v, path);
  auto algo = r.string("algorithm", "round-robin");
  if (!algo) return algo.error();
  static const std::set<std::string> kAlgorithms = {"round-robin", "least-connections", "random",
                                                    "ip-hash"};
  if (!kAlgorithms.contains(*algo)) {
    return invalid(path + ".algorithm: must be round-robin, least-connections, random or ip-hash");
  }
  spec.load_balancing.algorithm = *algo;
  if (const Json* sa = r.get("sessionAffinity")) {
    if (!sa->is_object()) return invalid(path + ".sessionAffinity: must be an object");
    ObjectReader a(*sa, path + ".sessionAffinity");
    auto& aff = spec.load_balancing.affinity;
    auto enabled = a.boolean("enabled", true);
    if (!enabled) return enabled.error();
    auto type = a.string("type", "cookie");
    if (!type) return type.error();
    if (*type != "cookie" && *type != "ip-hash" && *type != "header") {
      return invalid(path + ".sessionAffinity.type: must be cookie, ip-hash or header");
    }
    auto header = a.string("header");
    if (!header) return header.error();
    if (header->empty()) {
      auto alt = a.string("headerName");
      if (!alt) return alt.error();
      header = *alt;
    }
    if (*type == "header" && header->empty()) {
      return invalid(path + ".sessionAffinity.header: required for type header");
    }
    aff = {*enabled, *type, *header, aff.ttl};
    if (const Json* ttl = a.get("ttl")) {
      auto d = duration_field(ttl, a.path("ttl"));
      if (!d) return d.error();
      aff.ttl = *d;
    }
    if (auto done = a.finish(); !done) return done.error();
  }
  if (const Json* hc = r.get("healthCheck")) {
    auto check = seed_health_check(*hc, path + ".healthCheck");
    if (!check) return check.error();
    if (spec.health_check) {  // decoded first: one of the two would be silently dropped
      return invalid(fmt::format("{}.healthCheck: the deployment has a healthCheck already; give one of the two",
                                 path));
    }
    spec.health_check = *check;
  }
  return r.finish();
}

Result<void> expose(const Json& v, const std::string& path, DeploymentSpec& spec) {
  if (!v.is_object()) return invalid(path + ": must be an object");
  ObjectReader r(v, path);
  auto type = r.string("type");
  if (!type) return type.error();
  if (*type == "nodePort") {
    spec.expose.kind = Expose::Kind::kNodePort;
    const Json* np = r.get("nodePort");
    if (np == nullptr) return invalid(path + ".nodePort: required for type nodePort");
    auto port = port_value(*np, path + ".nodePort");
    if (!port) return port.error();
    spec.expose.node_port = *port;
  } else if (*type == "ingress") {
    spec.expose.kind = Expose::Kind::kIngress;
    auto host = r.string("host");
    if (!host) return host.error();
    if (host->empty()) return invalid(path + ".host: required for type ingress");
    // Host names are case-blind and the router always matched them so: "API.example.com." is
    // stored as api.example.com rather than refused (deployments stored so still load).
    boost::algorithm::to_lower(*host);
    while (host->ends_with('.')) host->pop_back();
    if (!is_valid_ingress_host(*host)) {
      return invalid(fmt::format("{}.host: '{}' is not a host name (lowercase, or *.example.com)", path,
                                 host->substr(0, 80)));
    }
    spec.expose.host = *host;
    auto p = r.string("path", "/");
    if (!p) return p.error();
    if (!is_valid_ingress_path(*p)) return invalid(path + ".path: must start with '/' and hold no spaces, '?' or '#'");
    spec.expose.path = *p;
    if (const Json* tls = r.get("tls")) {
      if (!tls->is_object()) return invalid(path + ".tls: must be an object");
      ObjectReader t(*tls, path + ".tls");
      auto enabled = t.boolean("enabled", true);
      if (!enabled) return enabled.error();
      auto cert = t.string("cert");
      if (!cert) return cert.error();
      if (!cert->empty()) {
        if (auto ok = validate_name(path + ".tls.cert", *cert); !ok) return ok.error();
      }
      spec.expose.tls = *enabled;
      spec.expose.tls_cert = *cert;
      if (auto done = t.finish(); !done) return done.error();
    }
  } else {
    return invalid(path + ".type: must be nodePort or ingress");
  }
  return r.finish();
}

Result<void> resources(const Json& v, const std::string& path, Resources& out) {
  if (!v.is_object()) return invalid(path + ": must be an object");
  ObjectReader r(v, path);
  if (const Json* mem = r.get("memory")) {
    const std::string text = mem->is_string() ? mem->get<std::string>() : mem->dump();
    auto bytes = parse_memory_quantity(text);
    if (!bytes) return invalid(path + ".memory: " + bytes.error().message);
    out.memory = text;
    out.memory_bytes = *bytes;
  }
  if (const Json* cpu = r.get("cpu")) {
    const std::string text = cpu->is_string() ? cpu->get<std::string>() : cpu->dump();
    auto millis = parse_cpu_quantity(text);
    if (!millis) return invalid(path + ".cpu: " + millis.error().message);
    out.cpu = text;
    out.cpu_millis = *millis;
  }
  auto pids = r.integer("pids", 0, 0, 1'000'000);
  if (!pids) return pids.error();
  out.pids = static_cast<std::uint32_t>(*pids);
  return r.finish();
}

Result<void> ports(ObjectReader& r, DeploymentSpec& spec) {
  if (const Json* port = r.get("port")) {
    if (port->is_string() && port->get<std::string>() == "auto") {
      spec.port_auto = true;
    } else if (port->is_number_integer() && port->get<long long>() == 0) {
      spec.port = 0;
    } else {
      auto p = port_value(*port, "port");
      if (!p) return invalid("port: must be a port number from 1 to 65535, 0 for none, or \"auto\"");
      spec.port = *p;
    }
  }
  if (const Json* list = r.get("ports")) {
    if (!list->is_array() || list->size() > 32) return invalid("ports: must be a list of {name, port}");
    std::set<std::string> names;
    std::set<std::uint16_t> numbers;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string path = fmt::format("ports[{}]", i);
      const Json& item = (*list)[i];
      if (!item.is_object()) return invalid(path + ": must be an object {name, port}");
      ObjectReader pr(item, path);
      auto name = pr.string("name", i == 0 ? "http" : "");
      if (!name) return name.error();
      if (auto ok = validate_name(path + ".name", *name); !ok) return ok.error();
      const Json* number = pr.get("port");
      if (number == nullptr) return invalid(path + ".port: required");
      auto p = port_value(*number, path + ".port");
      if (!p) return p.error();
      pr.ignore({"protocol", "targetPort"});
      if (auto done = pr.finish(); !done) return done.error();
      if (!names.insert(*name).second) return invalid(path + ".name: duplicate port name");
      if (!numbers.insert(*p).second) return invalid(path + ".port: duplicate port");
      spec.ports.push_back({*name, *p});
    }
  }
  if (spec.port != 0 && !spec.ports.empty()) {
    const bool listed = std::any_of(spec.ports.begin(), spec.ports.end(),
                                    [&](const NamedPort& np) { return np.port == spec.port; });
    if (!listed) return invalid("port: must be one of the ports listed in 'ports'");
    // The service port leads: it is what PORT and the first SRV name refer to.
    std::stable_partition(spec.ports.begin(), spec.ports.end(),
                          [&](const NamedPort& np) { return np.port == spec.port; });
  } else if (spec.port == 0 && !spec.ports.empty()) {
    spec.port = spec.ports.front().port;
  } else if (spec.port != 0) {
    spec.ports.push_back({"http", spec.port});
  }
  return {};
}

Result<void> infer_type(ObjectReader& r, DeploymentSpec& spec, bool replicas_given) {
  auto type = r.string("type");
  if (!type) return type.error();
  const bool has_port = spec.port != 0 || spec.port_auto;
  if (type->empty()) {
    spec.type = !spec.schedule.empty()          ? DeploymentType::kCron
                : (has_port || replicas_given) ? DeploymentType::kService
                                               : DeploymentType::kJob;
    if (spec.type == DeploymentType::kCron && has_port) {
      return invalid("port: a cron deployment has no port");
    }
    if (spec.type == DeploymentType::kCron && replicas_given && spec.replicas != 1) {
      return invalid("replicas: a cron deployment has no replicas");
    }
    return {};
  }
  if (*type == "service") {
    spec.type = DeploymentType::kService;
    if (!spec.schedule.empty()) return invalid("schedule: a service has no schedule (type is service)");
  } else if (*type == "job") {
    spec.type = DeploymentType::kJob;
    if (!spec.schedule.empty()) return invalid("schedule: a job has no schedule; use type cron");
    if (has_port) return invalid("port: a job has no port; use type service");
    if (replicas_given && spec.replicas != 1) return invalid("replicas: a job has no replicas");
  } else if (*type == "cron") {
    spec.type = DeploymentType::kCron;
    if (spec.schedule.empty()) return invalid("schedule: required for type cron");
    if (has_port) return invalid("port: a cron deployment has no port");
    if (replicas_given && spec.replicas != 1) return invalid("replicas: a cron deployment has no replicas");
  } else {
    return invalid("type: must be service, job or cron");
  }
  return {};
}

Result<void> runtime_and_source(ObjectReader& r, DeploymentSpec& spec) {
  auto source = r.string("source");
  if (!source) return source.error();
  if (!r.has("source")) return invalid("source: required (the script's text)");
  spec.source = *source;
  auto filename = r.string("filename");
  if (!filename) return filename.error();
  if (filename->find('/') != std::string::npos || *filename == "." || *filename == ".." ||
      filename->size() > 255 || filename->find('\0') != std::string::npos) {
    return invalid("filename: must be a plain file name without '/'");
  }
  spec.filename = *filename;
  auto runtime = r.string("runtime");
  if (!runtime) return runtime.error();
  if (runtime->empty()) {
    auto detected = detect_runtime(spec.filename, spec.source);
    if (!detected) {
      return invalid(undetected_runtime(spec.source));
    }
    spec.runtime = *detected;
  } else {
    const std::string rt = *runtime == "python" ? "python3" : *runtime;
    if (!is_known_runtime(rt)) {
      return invalid(fmt::format("runtime: unknown runtime '{}' (known: python3, bash, sh, node, "
                                 "ruby, perl, php)", runtime->substr(0, 40)));
    }
    spec.runtime = rt;
  }
  if (spec.filename.empty()) {
    static const std::map<std::string, std::string> kExt = {
        {"python3", ".py"}, {"bash", ".sh"}, {"sh", ".sh"}, {"node", ".js"},
        {"ruby", ".rb"},    {"perl", ".pl"}, {"php", ".php"}};
    spec.filename = spec.name + kExt.at(spec.runtime);
  }
  return {};
}

Result<void> process_fields(ObjectReader& r, DeploymentSpec& spec) {
  auto args = decode_args(r.get("args"), "args", kMaxArgs);
  if (!args) return args.error();
  spec.args = *args;
  auto env = decode_env(r.get("env"), "env");
  if (!env) return env.error();
  spec.env = *env;
  if (const Json* secrets = r.get("secrets")) {
    if (!secrets->is_array() || secrets->size() > 256) return invalid("secrets: must be a list");
    for (std::size_t i = 0; i < secrets->size(); ++i) {
      auto ref = secret_ref((*secrets)[i], fmt::format("secrets[{}]", i));
      if (!ref) return ref.error();
      spec.secrets.push_back(*ref);
    }
  }
  if (const Json* t = r.get("timeout")) {
    auto d = duration_field(t, "timeout");
    if (!d) return d.error();
    if (d->count() > 0) spec.timeout = *d;
  }
  auto protocol = r.string("protocol", "tcp");
  if (!protocol) return protocol.error();
  if (*protocol != "tcp" && *protocol != "http") return invalid("protocol: must be tcp or http");
  spec.protocol = *protocol == "http" ? Protocol::kHttp : Protocol::kTcp;
  return {};
}

Result<void> restart_policy(ObjectReader& r, DeploymentSpec& spec) {
  auto policy = r.string("restartPolicy");
  if (!policy) return policy.error();
  if (policy->empty()) {
    spec.restart_policy =
        spec.type == DeploymentType::kService ? RestartPolicy::kAlways : RestartPolicy::kNever;
  } else if (*policy == "always") {
    spec.restart_policy = RestartPolicy::kAlways;
  } else if (*policy == "on-failure" || *policy == "onFailure" || *policy == "OnFailure") {
    spec.restart_policy = RestartPolicy::kOnFailure;
  } else if (*policy == "never" || *policy == "Never") {
    spec.restart_policy = RestartPolicy::kNever;
  } else {
    return invalid("restartPolicy: must be always, on-failure or never");
  }
  return {};
}

Result<void> check_ports_of_health_check(const DeploymentSpec& spec, bool stored) {
  if (!spec.health_check || spec.health_check->kind == HealthCheck::Kind::kExec) {
    return {};
  }
  const char* kind = spec.health_check->kind == HealthCheck::Kind::kHttp ? "http" : "tcp";
  if (spec.health_check->port == 0) {
    // No port: the instance's PORT, which a deployment without a port does not have.
    if (spec.ports.empty() && !stored) {
      return invalid(fmt::format("healthCheck.{}: the deployment has no port to check; give it a port, or use an exec check",
                                 kind));
    }
    return {};
  }
  const bool known = std::any_of(spec.ports.begin(), spec.ports.end(), [&](const NamedPort& p) {
    return p.port == spec.health_check->port;
  });
  if (!known) {
    return invalid(fmt::format("healthCheck.{}.port: {} is not one of the deployment's ports", kind,
                               spec.health_check->port));
  }
  return {};
}

// Two secrets for one variable: which one the process got would be an accident of order.
Result<void> check_secret_variables(const DeploymentSpec& spec) {
  for (std::size_t i = 0; i < spec.secrets.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (spec.secrets[j].env == spec.secrets[i].env) {
        return invalid(fmt::format("secrets[{}].env: {} is already set by secrets[{}] (secret '{}')", i,
                                   spec.secrets[i].env, j, spec.secrets[j].secret));
      }
    }
  }
  return {};
}

// PORT and PORT_<NAME> of a deployment with ports are prisn's to set (SPEC §6.2, §7.1): an
// instance given its own would listen where prisn does not look (in host mode, on the port
// prisn itself publishes) and never pass its check.
Result<void> check_port_variables(const DeploymentSpec& spec) {
  if (spec.ports.empty()) return {};
  std::vector<std::string> reserved = {"PORT"};
  for (const auto& p : spec.ports) reserved.push_back(port_variable(p.name));
  const auto taken = [&](const std::string& name) {
    return std::find(reserved.begin(), reserved.end(), name) != reserved.end();
  };
  const auto why = [&](const std::string& field) {
    return invalid(fmt::format("{}: set by prisn to the port each instance must listen on (in host mode each instance "
                               "gets its own); the deployment's ports are given by port and ports",
                               field));
  };
  for (const auto& [name, value] : spec.env) {
    if (taken(name)) return why("env." + name);
  }
  for (std::size_t i = 0; i < spec.secrets.size(); ++i) {
    if (taken(spec.secrets[i].env)) return why(fmt::format("secrets[{}].env ({})", i, spec.secrets[i].env));
  }
  return {};
}

}  // namespace

Result<void> check_exec_sizes(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i].size() + 1 > kMaxExecString) {
      return invalid(fmt::format("args[{}]: {} bytes, more than a command-line argument can carry ({} bytes)", i,
                                 args[i].size(), kMaxExecString - 1));
    }
    total += args[i].size() + 1;
  }
  for (const auto& [name, value] : env) {
    if (name.size() + 1 + value.size() + 1 > kMaxExecString) {
      return invalid(fmt::format("env.{}: NAME=value is {} bytes, more than an environment variable can carry ({} "
                                 "bytes)", name, name.size() + 1 + value.size(), kMaxExecString - 1));
    }
    total += name.size() + 1 + value.size() + 1;
  }
  if (total > kMaxExecTotal) {
    return invalid(fmt::format("env: with args, {} bytes, more than the {} that args and env may take together",
                               total, kMaxExecTotal));
  }
  return {};
}

Result<std::vector<std::string>> decode_args(const Json* v, const std::string& path, std::size_t max_items) {
  std::vector<std::string> out;
  if (v == nullptr) {
    return out;
  }
  if (!v->is_array() || v->size() > max_items) {
    return invalid(fmt::format("{}: must be a list of at most {} strings", path, max_items));
  }
  for (std::size_t i = 0; i < v->size(); ++i) {
    const Json& item = (*v)[i];
    if (item.is_string()) {
      const auto& text = item.get_ref<const std::string&>();
      if (text.find('\0') != std::string::npos) {  // execve would cut it short
        return invalid(fmt::format("{}[{}]: holds a NUL byte, which a command-line argument cannot carry", path, i));
      }
      out.push_back(text);
    } else if (item.is_number() || item.is_boolean()) {
      out.push_back(item.dump());
    } else {
      return invalid(fmt::format("{}[{}]: must be a string", path, i));
    }
  }
  return out;
}

Result<std::map<std::string, std::string>> decode_env(const Json* v, const std::string& path) {
  std::map<std::string, std::string> out;
  if (v == nullptr) {
    return out;
  }
  if (!v->is_object()) {
    return invalid(path + ": must be an object of NAME: value strings");
  }
  if (v->size() > kMaxEnv) {
    return invalid(fmt::format("{}: {} variables, more than the {} allowed", path, v->size(), kMaxEnv));
  }
  for (const auto& [key, value] : v->items()) {
    if (!is_env_name(key)) {
      return invalid(fmt::format("{}.{}: not a valid environment variable name", path, key.substr(0, 80)));
    }
    if (value.is_string()) {
      const auto& text = value.get_ref<const std::string&>();
      if (text.find('\0') != std::string::npos) {  // execve would cut it short
        return invalid(fmt::format("{}.{}: holds a NUL byte, which an environment variable cannot carry", path, key));
      }
      out[key] = text;
    } else if (value.is_number() || value.is_boolean()) {
      out[key] = value.dump();
    } else {
      return invalid(fmt::format("{}.{}: must be a string", path, key));
    }
  }
  return out;
}

Result<DeploymentSpec> decode_deployment(const Json& input, const DecodeContext& ctx) {
  Json flat;
  if (is_document(input)) {  // the seed's YAML shape, sent as JSON
    auto doc = flatten_document(input, "Deployment");
    if (!doc) return doc.error();
    flat = std::move(doc->body);
  }
  const Json& body = flat.is_null() ? input : flat;
  if (!body.is_object()) {
    return invalid("body: must be a JSON object");
  }
  if (body.contains("file")) {
    return invalid("file: only `prisn apply -f` reads files; send the script's text as source");
  }
  ObjectReader r(body, "");
  // What GET adds to the spec: a deployment read back is accepted as it was given.
  r.ignore({"status", "created_at", "updated_at", "generation", "next_run", "last_run", "skipped_ticks", "kind",
            "apiVersion", "endpoints"});
  DeploymentSpec spec;
  if (auto ok = read_names(r, ctx, spec.name, spec.ns); !ok) return ok.error();
  if (auto ok = runtime_and_source(r, spec); !ok) return ok.error();
  if (auto ok = process_fields(r, spec); !ok) return ok.error();
  if (auto ok = ports(r, spec); !ok) return ok.error();
  auto schedule = r.string("schedule");
  if (!schedule) return schedule.error();
  // Kept as it will be read: spaces around it are not part of it (nor of a macro).
  constexpr const char* kSpace = " \t\r\n\v\f";  // a YAML folded scalar ends in a newline
  const auto first = schedule->find_first_not_of(kSpace);
  spec.schedule = first == std::string::npos ? "" : schedule->substr(first, schedule->find_last_not_of(kSpace) - first + 1);
  if (!spec.schedule.empty()) {
    if (auto parsed = cron::CronExpr::parse(spec.schedule); !parsed) return parsed.error();
  }
  const bool replicas_given = r.has("replicas");
  auto replicas = r.integer("replicas", 1, 0, kMaxReplicas);
  if (!replicas) return replicas.error();
  spec.replicas = static_cast<int>(*replicas);
  if (auto ok = infer_type(r, spec, replicas_given); !ok) return ok.error();
  if (auto ok = restart_policy(r, spec); !ok) return ok.error();
  if (const Json* hc = r.get("healthCheck")) {
    auto check = health_check(*hc, "healthCheck", ctx.stored);
    if (!check) return check.error();
    spec.health_check = *check;
  }
  if (const Json* lb = r.get("loadBalancing")) {
    if (auto ok = load_balancing(*lb, "loadBalancing", spec); !ok) return ok.error();
  }
  if (const Json* ex = r.get("expose")) {
    if (auto ok = expose(*ex, "expose", spec); !ok) return ok.error();
    if (spec.type != DeploymentType::kService) return invalid("expose: only services can be exposed");
  }
  if (const Json* res = r.get("resources")) {
    if (auto ok = resources(*res, "resources", spec.resources); !ok) return ok.error();
  }
  // A misspelt field first: it may be why the fields below do not fit together.
  if (auto done = r.finish(); !done) return done.error();
  if (spec.type != DeploymentType::kService && spec.health_check) {
    return invalid("healthCheck: only services have health checks");
  }
  if (spec.type == DeploymentType::kService && spec.timeout) {
    if (!ctx.stored) return invalid("timeout: only jobs and cron jobs have a timeout (a service runs until it is stopped)");
    spec.timeout.reset();  // it never applied
  }
  if (auto ok = check_ports_of_health_check(spec, ctx.stored); !ok) return ok.error();
  if (!ctx.stored) {  // a stored one runs as it did
    if (auto ok = check_port_variables(spec); !ok) return ok.error();
    if (auto ok = check_exec_sizes(spec.args, spec.env); !ok) return ok.error();
    if (auto ok = check_secret_variables(spec); !ok) return ok.error();
  }
  return spec;
}

Json encode_health_check(const HealthCheck& hc) {
  Json out = Json::object();
  switch (hc.kind) {
    case HealthCheck::Kind::kTcp:
      out["tcp"] = {{"port", hc.port}};
      break;
    case HealthCheck::Kind::kHttp:
      out["http"] = {{"path", hc.path}, {"port", hc.port}};
      if (hc.expected_status != 0) out["http"]["expectedStatus"] = hc.expected_status;
      break;
    case HealthCheck::Kind::kExec:
      out["exec"] = {{"command", hc.command}};
      break;
  }
  out["interval"] = format_duration(hc.interval);
  out["timeout"] = format_duration(hc.timeout);
  out["failureThreshold"] = hc.failure_threshold;
  out["successThreshold"] = hc.success_threshold;
  return out;
}

Json encode_spec(const DeploymentSpec& s, bool include_source) {
  Json out = {
      {"name", s.name},
      {"namespace", s.ns},
      {"type", to_string(s.type)},
      {"runtime", s.runtime},
      {"filename", s.filename},
      {"args", s.args},
      {"env", s.env},
      {"port", s.port},
      {"protocol", to_string(s.protocol)},
      {"replicas", s.type == DeploymentType::kService ? Json(s.replicas) : Json(nullptr)},  // runs have none
      {"restartPolicy", to_string(s.restart_policy)},
  };
  if (include_source) {
    out["source"] = s.source;
  }
  Json secrets = Json::array();
  for (const auto& ref : s.secrets) {
    Json item = {{"secret", ref.secret}, {"env", ref.env}};
    if (!ref.key.empty()) item["key"] = ref.key;
    secrets.push_back(item);
  }
  out["secrets"] = secrets;
  Json ports = Json::array();
  for (const auto& p : s.ports) {
    ports.push_back({{"name", p.name}, {"port", p.port}});
  }
  out["ports"] = ports;
  out["schedule"] = s.schedule.empty() ? Json(nullptr) : Json(s.schedule);
  out["timeout"] = s.timeout ? Json(format_duration(*s.timeout)) : Json(nullptr);
  out["healthCheck"] = s.health_check ? encode_health_check(*s.health_check) : Json(nullptr);
  const auto& lb = s.load_balancing;
  out["loadBalancing"] = {{"algorithm", lb.algorithm}};
  if (lb.affinity.enabled) {
    Json aff = {{"enabled", true}, {"type", lb.affinity.type}, {"ttl", format_duration(lb.affinity.ttl)}};
    if (!lb.affinity.header.empty()) aff["header"] = lb.affinity.header;
    out["loadBalancing"]["sessionAffinity"] = aff;
  }
  switch (s.expose.kind) {
    case Expose::Kind::kNone:
      out["expose"] = nullptr;
      break;
    case Expose::Kind::kNodePort:
      out["expose"] = {{"type", "nodePort"}, {"nodePort", s.expose.node_port}};
      break;
    case Expose::Kind::kIngress:
      out["expose"] = {{"type", "ingress"}, {"host", s.expose.host}, {"path", s.expose.path}};
      if (s.expose.tls) out["expose"]["tls"] = {{"enabled", true}, {"cert", s.expose.tls_cert}};
      break;
  }
  Json res = Json::object();
  if (!s.resources.memory.empty()) res["memory"] = s.resources.memory;
  if (!s.resources.cpu.empty()) res["cpu"] = s.resources.cpu;
  if (s.resources.pids != 0) res["pids"] = s.resources.pids;
  out["resources"] = res;
  return out;
}

std::optional<std::string> deployment_warning(const Json& status) {
  const std::string message = status.value("message", "");
  if (status.value("phase", "") != "Failed" && !message.starts_with(kNewInstancesCannotStart)) return std::nullopt;
  return message.empty() ? "it cannot run" : message;
}

}  // namespace prisn::model
