// SPDX-License-Identifier: MIT
// Controller: the L7 router's routes and certificates, proxy stats and traces.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <boost/asio/ip/address.hpp>

#include "control/controller_impl.hpp"
#include "prisn/config/config.hpp"
#include "prisn/core/log.hpp"
#include "prisn/proxy/route_table.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <span>
#include <set>

namespace prisn::control {
using model::Json;

namespace {

auto& log() {
  static auto l = logger("control");
  return l;
}

std::string label_of(const std::string& ns, const std::string& name, std::uint16_t port) {
  return port == 0 ? fmt::format("{}.{}", name, ns) : fmt::format("{}.{}:{}", name, ns, port);
}

// Calls add(host, path, ns, deployment, port) for every L7 route: each path of each Ingress
// rule, then each deployment's `expose.type: ingress` (port 0: the deployment's first port).
// A route naming the first port is given as 0 too: one target, whichever way it was written,
// with one balancer and one row of stats.
void for_each_route(const auto& store, const auto& add) {
  auto first_as_zero = [&store](const std::string& ns, const std::string& name, std::uint16_t port) {
    const auto* rec = store.find_deployment(ns, name);
    const bool first = rec != nullptr && !rec->spec.ports.empty() && rec->spec.ports.front().port == port;
    return first ? std::uint16_t{0} : port;
  };
  for (const auto* rec : store.list_resources("Ingress", "")) {
    auto spec = model::decode_ingress(rec->spec, {});
    if (!spec) continue;
    for (const auto& rule : spec->rules) {
      for (const auto& p : rule.paths) {
        add(rule.host, p.path, spec->ns, p.deployment, first_as_zero(spec->ns, p.deployment, p.port), spec->name);
      }
    }
  }
  for (const auto* rec : store.list_deployments("")) {
    const auto& spec = rec->spec;
    if (spec.expose.kind == model::Expose::Kind::kIngress) {
      add(spec.expose.host, spec.expose.path, spec.ns, spec.name, 0, std::string());
    }
  }
}

// What a trace target names: a deployment, which of its ports, and how it was reached.
struct TraceHit {
  std::string ns, name;
  std::size_t port_index = 0;
  std::string via;        // "service", "published port", "nodePort", "ingress"
  std::string listener;   // the L4 listener that takes the connection, if one does
  std::uint16_t route_port = 0;  // for an ingress: the route's port (0: the first), keying its balancer
  std::string ingress;           // for an ingress: the Ingress resource's name ("": the deployment's expose)
  std::string problem;           // why the router answers 503 whatever the instances do
};

// The index of `port` among the deployment's ports, or an error that lists them.
Result<std::size_t> port_index_of(const model::DeploymentSpec& spec, std::uint16_t port) {
  std::vector<std::string> ports;
  for (std::size_t i = 0; i < spec.ports.size(); ++i) {
    if (spec.ports[i].port == port) return i;
    ports.push_back(std::to_string(spec.ports[i].port));
  }
  if (ports.empty()) return Error::invalid(fmt::format("{}.{} has no port to send to", spec.name, spec.ns));
  return Error::not_found(fmt::format("{}.{} has no port {} (its ports: {})", spec.name, spec.ns, port,
                                      fmt::join(ports, ", ")));
}

// Whether `address` is one of the node's interface addresses.
bool is_interface_address(const boost::asio::ip::address& address) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return false;
  bool found = false;
  for (const ifaddrs* i = list; i != nullptr && !found; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      found = address == boost::asio::ip::address_v4(ntohl(in->sin_addr.s_addr));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      boost::asio::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), in6->sin6_addr.s6_addr, bytes.size());
      found = address == boost::asio::ip::address_v6(bytes, in6->sin6_scope_id);
    }
  }
  freeifaddrs(list);
  return found;
}

// The address `host` names when it is the node itself ("localhost", a loopback, unspecified
// or interface address, IPv6 in brackets), where service ports and NodePorts are published.
std::optional<boost::asio::ip::address> node_address(std::string host) {
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  if (ec || !(address.is_loopback() || address.is_unspecified() || is_interface_address(address))) return std::nullopt;
  return address;
}

// Why the router answers a route to deployment ns/name, port `port` (0: its first), with 503
// whatever its instances do, or "" when it sends requests to them. `proxy trace` asks the same.
std::string route_problem(const store::DeploymentRecord* rec, const std::string& ns, const std::string& name,
                          std::uint16_t port) {
  if (rec == nullptr) return fmt::format("no deployment {}/{}", ns, name);
  if (rec->spec.type != model::DeploymentType::kService) {
    return fmt::format("deployment {}/{} is a {}, not a service", ns, name, model::to_string(rec->spec.type));
  }
  if (port != 0 && !port_index_of(rec->spec, port)) {
    return fmt::format("deployment {}/{} has no port {}", ns, name, port);
  }
  return {};
}

}  // namespace

std::shared_ptr<const proxy::L7Target> Controller::Impl::l7_target(const std::string& ns, const std::string& name,
                                                                   std::uint16_t port) {
  auto t = std::make_shared<proxy::L7Target>();
  t->ns = ns;
  t->deployment = name;
  t->label = label_of(ns, name, port);
  auto& state = targets[{ns, name, port}];
  t->stats = state.stats;
  const auto* rec = ctx.store.find_deployment(ns, name);
  const model::LoadBalancing lb = rec ? rec->spec.load_balancing : model::LoadBalancing{};
  if (!state.balancer || !(state.lb == lb)) {
    state.lb = lb;
    auto options = proxy::balance_options(lb.algorithm, lb.affinity.enabled, lb.affinity.type, lb.affinity.header,
                                          lb.affinity.ttl);
    // Signed with a key from secret.key, so cookies stay valid across prisnd restarts.
    options.cookie_key = ctx.store.derived_key("affinity-cookie");
    state.balancer = std::make_shared<proxy::Balancer>(std::move(options));
  }
  t->balancer = state.balancer;
  t->problem = route_problem(rec, ns, name, port);
  if (!t->problem.empty()) return t;
  const std::size_t index = port != 0 ? *port_index_of(rec->spec, port) : 0;
  for (const auto& ep : services.endpoints(ns, name)) {
    if (!ep.healthy || index >= ep.ports.size()) continue;
    const std::uint16_t p = ep.ports[index];
    t->backends.push_back({ep.instance, ep.ip, p, ep.connections, fmt::format("{}:{}", ep.ip, p)});
  }
  if (!rec->spec.ports.empty()) t->policy = router_policy(ns, name, rec->spec.ports[index].port);
  return t;
}

void Controller::Impl::publish_routes() {
  if (options.http == nullptr) return;
  auto snapshot = std::make_shared<proxy::L7Snapshot>();
  snapshot->unrouted = unrouted;
  std::map<std::tuple<std::string, std::string, std::uint16_t>, std::shared_ptr<const proxy::L7Target>> made;
  auto target = [&](const std::string& ns, const std::string& name, std::uint16_t port) {
    auto& t = made[{ns, name, port}];
    if (!t) t = l7_target(ns, name, port);
    return t;
  };
  for_each_route(ctx.store, [&](const std::string& host, const std::string& path, const std::string& ns,
                                const std::string& name, std::uint16_t port, const std::string& /*ingress*/) {
    snapshot->routes.add(host, path, target(ns, name, port));
  });
  // A route that is gone takes its counters and balancer state along (stats list live routes).
  std::erase_if(targets, [&made](const auto& entry) { return !made.contains(entry.first); });
  if (options.acme != nullptr) snapshot->acme_challenges = options.acme->challenges();
  options.http->publish(std::move(snapshot));
}

void Controller::on_acme_change() {
  impl_->publish_routes();
  impl_->publish_certificates();
}

void Controller::Impl::publish_certificates() {
  if (!options.tls) return;
  std::vector<proxy::Certificate> certs;
  // A secret that cannot be used (unreadable, or lacking a key) loads as a broken pair does:
  // the certificate from it before stays in use, and the TLS warning says why.
  auto from_secret = [&](const std::string& ns, const std::string& secret, std::vector<std::string> hosts) {
    auto values = ctx.store.secret_values(ns, secret);
    proxy::Certificate cert{fmt::format("secret {}/{}", ns, secret), "", "", std::move(hosts), ""};
    if (!values && values.error().kind == Error::Kind::kNotFound) {
      log()->warn("TLS for {}: {} does not exist", fmt::join(cert.hosts, ", "), cert.source);
      return;  // deleted: its certificate goes too
    }
    if (!values) {
      cert.problem = "cannot be read: " + values.error().message;
    } else if (!values->contains("tls.crt") || !values->contains("tls.key")) {
      cert.problem = "needs the keys tls.crt and tls.key";
    } else {
      cert.cert_pem = values->at("tls.crt");
      cert.key_pem = values->at("tls.key");
    }
    certs.push_back(std::move(cert));
  };
  for (const auto* rec : ctx.store.list_resources("Ingress", "")) {
    auto spec = model::decode_ingress(rec->spec, {});
    if (!spec) continue;
    for (const auto& tls : spec->tls) from_secret(spec->ns, tls.secret_name, tls.hosts);
  }
  for (const auto* rec : ctx.store.list_deployments("")) {
    const auto& e = rec->spec.expose;
    if (e.kind == model::Expose::Kind::kIngress && e.tls && !e.tls_cert.empty()) {
      from_secret(rec->spec.ns, e.tls_cert, {e.host});
    }
  }
  sync_acme(certs);
  if (options.acme != nullptr) {
    for (const auto& c : options.acme->certificates()) certs.push_back({"acme " + c.host, c.cert_pem, c.key_pem, {c.host}});
  }
  const auto errors = options.tls->load(certs, config_certificate ? &*config_certificate : nullptr);
  for (const auto& e : errors) log()->warn("TLS: {}", e);
  log()->debug("TLS: {} certificates loaded", options.tls->size());
}

void Controller::Impl::sync_acme(const std::vector<proxy::Certificate>& from_secrets) {
  if (options.acme == nullptr) return;
  // Every exact ingress host without a certificate of its own (HTTP-01 cannot do wildcards).
  std::set<std::string> covered;
  for (const auto& c : from_secrets) covered.insert(c.hosts.begin(), c.hosts.end());
  std::set<std::string> hosts;
  auto want = [&](const std::string& host) {
    if (!host.empty() && !host.starts_with("*.") && !covered.contains(host)) hosts.insert(host);
  };
  for (const auto* rec : ctx.store.list_resources("Ingress", "")) {
    auto spec = model::decode_ingress(rec->spec, {});
    if (!spec) continue;
    for (const auto& rule : spec->rules) want(rule.host);
  }
  for (const auto* rec : ctx.store.list_deployments("")) {
    if (rec->spec.expose.kind == model::Expose::Kind::kIngress) want(rec->spec.expose.host);
  }
  options.acme->sync({hosts.begin(), hosts.end()});
}

void Controller::set_config_certificate(std::optional<proxy::Certificate> cert) {
  impl_->config_certificate = std::move(cert);
  impl_->publish_certificates();
}

Json Controller::proxy_stats(const std::string& in_ns) const {
  Json items = Json::array();
  std::set<std::string> l7_routes;
  for (const auto& [key, state] : impl_->targets) {
    const auto& [ns, name, port] = key;
    if (ns != in_ns) continue;
    l7_routes.insert(label_of(ns, name, port));
    const auto& s = *state.stats;
    items.push_back({{"route", label_of(ns, name, port)},
                     {"namespace", ns},
                     {"deployment", name},
                     {"protocol", "http"},
                     {"requests", s.requests.load()},
                     {"errors", s.errors()},
                     {"p50_ms", s.latency.quantile(0.5) * 1000},
                     {"p99_ms", s.latency.quantile(0.99) * 1000},
                     {"active", s.active.load()}});
  }
  for (const auto& [listener, s] : impl_->l4.stats()) {
    // Closed listeners keep their counters (a redeploy reopens them) but are not listed.
    const auto it = impl_->published.find(listener);
    if (it == impl_->published.end()) continue;
    const auto& p = it->second;
    const std::string& ns = p.deployment.first;
    const std::string& name = p.deployment.second;
    if (ns != in_ns) continue;
    // As the seed's `proxy stats` names a service: "api.default" for its port published at its
    // own number (unless an L7 row has that name), else with the port it is published on.
    const auto* rec = impl_->ctx.store.find_deployment(ns, name);
    const bool own_number =
        p.port_index == 0 && rec != nullptr && !rec->spec.ports.empty() && rec->spec.ports.front().port == p.port;
    std::string route = label_of(ns, name, 0);
    if (!own_number || l7_routes.contains(route)) route = fmt::format("{}:{}", route, p.port);
    items.push_back({{"route", route},
                     {"namespace", ns},
                     {"deployment", name},
                     {"listener", listener},
                     {"protocol", "tcp"},
                     {"requests", s->connections.load()},
                     {"errors", s->failed.load()},
                     // For a byte stream, the time to reach an instance: what the proxy adds.
                     {"p50_ms", s->connect.quantile(0.5) * 1000},
                     {"p99_ms", s->connect.quantile(0.99) * 1000},
                     {"active", s->active.load()}});
  }
  return {{"items", items}};
}

namespace {

// A service name ({name}.{ns}.{domain}, {name}.{ns}, or {name} in `ns`; any case, a trailing
// dot allowed, as DNS answers them) and one of its ports (port 0: its first).
Result<std::optional<TraceHit>> service_hit(const Controller::Impl& d, const std::string& host, std::uint16_t port,
                                            const std::string& ns) {
  std::string h = proxy::normalise_host(host);
  const std::string suffix = "." + d.options.dns_zone.domain;
  if (h.ends_with(suffix)) h.resize(h.size() - suffix.size());
  TraceHit hit;
  if (const auto dot = h.find('.'); dot != std::string::npos && h.find('.', dot + 1) == std::string::npos &&
                                    d.ctx.store.find_deployment(h.substr(dot + 1), h.substr(0, dot)) != nullptr) {
    hit = {h.substr(dot + 1), h.substr(0, dot), 0, "service"};
  } else if (d.ctx.store.find_deployment(ns, h) != nullptr) {
    hit = {ns, h, 0, "service"};
  } else {
    return std::nullopt;
  }
  const auto& spec = d.ctx.store.find_deployment(hit.ns, hit.name)->spec;
  auto index = port_index_of(spec, port != 0 || spec.ports.empty() ? port : spec.ports.front().port);
  if (!index) return index.error();
  hit.port_index = *index;
  return hit;
}

// Whether a listener bound to `bound` ("0.0.0.0:8080", "[::]:30080", "127.0.0.1:8080") takes
// connections to `address`, one of the node's own.
bool listener_takes(const std::string& bound, const boost::asio::ip::address& address) {
  auto listening = config::parse_listen(bound);
  if (!listening) return false;
  boost::system::error_code ec;
  const auto own = boost::asio::ip::make_address(listening->host, ec);
  if (ec) return false;
  if (own.is_unspecified()) return own.is_v6() || address.is_v4();  // "::" is dual-stack
  return address == own;
}

// A port published on the node: a service port or a NodePort, when its listener takes `host`.
std::optional<TraceHit> published_hit(const Controller::Impl& d, const std::string& host, std::uint16_t port) {
  const auto address = node_address(host);
  if (port == 0 || !address) return std::nullopt;
  for (const auto& [listener, pub] : d.published) {
    if (pub.port != port || !listener_takes(d.l4.address(listener), *address)) continue;
    const bool node_port = listener.find("/nodePort:") != std::string::npos;
    return TraceHit{pub.deployment.first, pub.deployment.second, pub.port_index,
                    node_port ? "nodePort" : "published port", listener};
  }
  return std::nullopt;
}

// The ingress route the L7 router would take for host and path.
std::optional<TraceHit> ingress_hit(const Controller::Impl& d, const std::string& host, const std::string& path) {
  proxy::RouteTable<TraceHit> routes;
  for_each_route(d.ctx.store, [&](const std::string& route_host, const std::string& route_path,
                                  const std::string& route_ns, const std::string& deployment, std::uint16_t p,
                                  const std::string& ingress) {
    routes.add(route_host, route_path, TraceHit{route_ns, deployment, 0, "ingress", "", p, ingress, ""});
  });
  const auto* route = routes.match(host, path);
  if (route == nullptr) return std::nullopt;
  TraceHit hit = *route;
  if (const auto* rec = d.ctx.store.find_deployment(hit.ns, hit.name); rec != nullptr) {  // else a 404 below
    hit.problem = route_problem(rec, hit.ns, hit.name, hit.route_port);  // as the router answers it
    if (hit.problem.empty() && hit.route_port != 0) hit.port_index = *port_index_of(rec->spec, hit.route_port);
  }
  return hit;
}

// The instance the next connection or request to `hit` goes to, and why, read from the live
// balancing state without changing it: the L4 listener's round-robin position for a port
// published on the node, the route's balancer for an ingress.
// The instance the next request or connection gets, by which algorithm, and why (empty: the
// algorithm says it all).
struct NextPick {
  std::size_t index = 0;
  std::string algorithm;
  std::string why;
};

NextPick next_pick(const Controller::Impl& d, const TraceHit& hit, const model::LoadBalancing& lb,
                   std::span<const proxy::Balancer::Candidate> candidates) {
  const std::size_t n = candidates.size();
  std::string listener = hit.listener;
  if (hit.via == "service") {  // reached on the node through its published port, if it has one
    for (const auto& [name, pub] : d.published) {
      if (pub.deployment == Key{hit.ns, hit.name} && pub.port_index == hit.port_index &&
          name.find("/nodePort:") == std::string::npos) {
        listener = name;
      }
    }
  }
  if (!listener.empty()) {
    return {static_cast<std::size_t>(d.l4.next_position(listener) % n), "round-robin",
            "the next connection through the L4 proxy"};
  }
  if (hit.via == "ingress") {
    if (auto it = d.targets.find({hit.ns, hit.name, hit.route_port}); it != d.targets.end() && it->second.balancer) {
      if (auto i = it->second.balancer->peek(candidates)) return {*i, lb.algorithm, "the next request"};
    }
  }
  const bool depends = lb.algorithm == "random" || lb.algorithm == "ip-hash";
  return {0, lb.algorithm, depends ? "any healthy instance; it depends on the request" : ""};
}

}  // namespace

Result<Json> Controller::trace(const std::string& host, std::uint16_t port, const std::string& path,
                               const std::string& ns_of_bare_names) const {
  auto& d = *impl_;
  auto by_service = service_hit(d, host, port, ns_of_bare_names);
  if (!by_service) return by_service.error();
  std::optional<TraceHit> found = *by_service;
  if (!found) found = published_hit(d, host, port);
  // An ingress host is reached through the L7 router: on its ports, or on 80/443 in front of it.
  const auto& router_ports = d.options.router_ports;
  const bool router_port = port == 0 || port == 80 || port == 443 ||
                           std::find(router_ports.begin(), router_ports.end(), port) != router_ports.end();
  if (!found && router_port) found = ingress_hit(d, host, path);
  const auto shown = fmt::format("{}:{}{}", host, port == 0 ? std::uint16_t{80} : port, path);
  if (!found) {
    return Error::not_found(fmt::format("'{}' is neither a service, a port published on this node, nor an ingress "
                                        "route{}", shown, router_port ? "" : " (no router listens on that port)"));
  }
  const TraceHit& hit = *found;
  const auto* rec = d.ctx.store.find_deployment(hit.ns, hit.name);
  if (rec == nullptr) {
    return Error::not_found(fmt::format("deployment '{}' not found in namespace '{}'", hit.name, hit.ns));
  }
  const auto& ns = hit.ns;
  const auto& name = hit.name;
  const auto index = hit.port_index;
  Json resolved = Json::array();
  std::vector<proxy::Balancer::Candidate> candidates;
  std::vector<std::pair<std::string, std::uint16_t>> addresses;
  const auto endpoints = d.services.endpoints(ns, name);
  for (const auto& ep : endpoints) {
    if (!ep.healthy || index >= ep.ports.size()) continue;
    resolved.push_back(fmt::format("{}:{}", ep.ip, ep.ports[index]));
    candidates.push_back({ep.instance, ep.connections ? ep.connections->load() : 0});
    addresses.emplace_back(ep.ip, ep.ports[index]);
  }
  // A service traced with no port was traced on its first one: say so.
  const bool service_port = hit.via == "service" && hit.port_index < rec->spec.ports.size();
  const auto target = service_port ? fmt::format("{}:{}{}", host, rec->spec.ports[hit.port_index].port, path) : shown;
  Json out = {{"target", target},     {"namespace", ns},      {"deployment", name},
              {"via", hit.via},       {"resolved", resolved}, {"algorithm", rec->spec.load_balancing.algorithm}};
  if (hit.via == "ingress") out["ingress"] = hit.ingress.empty() ? Json(nullptr) : Json(hit.ingress);
  if (!hit.problem.empty()) {
    out["resolved"] = Json::array();
    out["selected"] = nullptr;
    out["error"] = hit.problem;
    return out;
  }
  if (candidates.empty()) {
    out["selected"] = nullptr;
    return out;
  }
  const auto pick = next_pick(d, hit, rec->spec.load_balancing, candidates);
  const auto i = pick.index;
  const auto endpoint = [&](std::size_t j) {
    return Json{{"instance", std::string(candidates[j].name)},
                {"address", fmt::format("{}:{}", addresses[j].first, addresses[j].second)},
                {"host", addresses[j].first},
                {"port", addresses[j].second}};
  };
  out["selected"] = endpoint(i);
  out["selected"]["algorithm"] = pick.algorithm;
  out["selected"]["reason"] = pick.why.empty() ? pick.algorithm : fmt::format("{} ({})", pick.algorithm, pick.why);
  // Where the proxy goes next when the selected instance refuses the connection: the others,
  // in turn from it (SPEC §7.4).
  Json fallbacks = Json::array();
  for (std::size_t k = 1; k < candidates.size(); ++k) fallbacks.push_back(endpoint((i + k) % candidates.size()));
  out["fallbacks"] = std::move(fallbacks);
  return out;
}

}  // namespace prisn::control
