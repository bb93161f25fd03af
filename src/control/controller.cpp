// SPDX-License-Identifier: MIT
// Controller: wiring, lifecycle, change propagation and port publishing.
#include <fmt/format.h>

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/post.hpp>
#include <set>

#include "control/controller_impl.hpp"
#include "prisn/core/log.hpp"
#include "prisn/process/ports.hpp"

namespace prisn::control {

namespace {

auto& log() {
  static auto l = logger("control");
  return l;
}

}  // namespace

std::string listener_name(const model::DeploymentSpec& spec, std::size_t port_index) {
  const auto& p = spec.ports.at(port_index);
  return fmt::format("{}/{}/{}:{}", spec.ns, spec.name, p.name, p.port);
}

std::string node_port_listener_name(const model::DeploymentSpec& spec) {
  return fmt::format("{}/{}/nodePort:{}", spec.ns, spec.name, spec.expose.node_port);
}

Controller::Impl::Impl(supervisor::Context& c, proxy::L4Proxy& proxy, ControllerOptions o)
    : ctx(c),
      l4(proxy),
      options(std::move(o)),
      runner(c, [this](const model::Execution& e) { on_execution_changed(e); }),
      services(c, [this](const std::string& ns, const std::string& name) { on_deployment_changed(ns, name); }),
      checker(c.executor, c.watcher,
              [this](const std::string& id, bool healthy) { services.on_health(id, healthy); }),
      cron(c, runner, [this](const store::DeploymentRecord& rec) { (void)trigger(rec, {}, "cron"); },
           [this](const std::string& ns, const std::string& name) { announce("MODIFIED", ns, name); }),
      listen_retry(c.executor) {
  services.set_checker(&checker);
}

Controller::Controller(supervisor::Context& ctx, proxy::L4Proxy& l4, ControllerOptions options)
    : impl_(std::make_unique<Impl>(ctx, l4, std::move(options))) {}

Controller::~Controller() = default;

EventBus& Controller::events() { return impl_->events; }

const std::string& Controller::dns_address() const { return impl_->options.dns_address; }
const std::string& Controller::dns_domain() const { return impl_->options.dns_zone.domain; }

void Controller::set_dns_ttl(std::uint32_t ttl) {
  if (impl_->options.dns_zone.ttl == ttl) return;
  impl_->options.dns_zone.ttl = ttl;
  impl_->publish_zone();
}

void Controller::start() {
  auto& d = *impl_;
  // Before any network filter names a group: one named later is made again.
  d.ctx.cgroups.remove_empty_groups();
  // Published ports first, so adopted instances keep serving through them.
  for (const auto* rec : d.ctx.store.list_deployments("")) {
    if (rec->spec.type == model::DeploymentType::kService) {
      if (auto opened = d.open_listeners(rec->spec); !opened) {
        log()->error("deployment {}/{}: {}; retrying every {}s", rec->spec.ns, rec->spec.name,
                     opened.error().message, Impl::kListenRetry.count());
        d.listen_failures[{rec->spec.ns, rec->spec.name}] = opened.error().message;
      }
    }
  }
  if (!d.listen_failures.empty()) d.retry_listeners();
  d.runner.adopt();
  d.services.adopt();
  // Process trees in our cgroup subtree that no running instance or execution owns: left by
  // a crash between starting a process and recording it, or descendants of a run that ended
  // while prisnd was down. Stop them rather than run them twice.
  if (d.ctx.cgroups.available()) {
    std::set<std::string> known;
    for (const auto& id : d.services.instance_ids()) known.insert(id);
    for (const auto& id : d.runner.active_ids()) known.insert(id);
    for (const auto& dir : d.ctx.cgroups.list()) {
      if (!known.contains(dir.filename().string())) {
        log()->warn("stopping left-over process tree {} (no running instance or execution owns it)",
                    dir.lexically_relative(d.ctx.cgroups.base()).string());
        d.ctx.cgroups.kill_all(dir);
        d.ctx.cgroups.remove(dir);
      }
    }
  }
  d.cron.start();
  d.publish_endpoints();
  d.publish_certificates();
}

namespace {

// Calls `then` on `executor` once `ready()` holds or `until` has passed, asking every `every`.
void poll_until(boost::asio::any_io_executor executor, std::function<bool()> ready,
                std::chrono::steady_clock::time_point until, std::chrono::milliseconds every,
                std::function<void()> then) {
  auto step = std::make_shared<std::function<void()>>();
  *step = [executor, ready = std::move(ready), until, every, then = std::move(then), weak = std::weak_ptr(step)]() {
    if (ready() || std::chrono::steady_clock::now() >= until) {
      then();
      return;
    }
    auto timer = std::make_shared<boost::asio::steady_timer>(executor, every);
    timer->async_wait([timer, self = weak.lock()](const boost::system::error_code&) {
      if (self) (*self)();
    });
  };
  (*step)();
}

}  // namespace

void Controller::shutdown(std::function<void()> done) {
  auto& d = *impl_;
  d.listen_retry.cancel();
  d.listen_failures.clear();
  d.cron.stop();
  d.runner.terminate_all();
  for (const auto& [name, pub] : d.published) {
    d.l4.close(name);  // no new connections
  }
  d.published.clear();
  // SPEC §6.6: the proxies drain before the instances are told to stop, as the L7 router's
  // requests in flight finish first.
  poll_until(
      d.ctx.executor, [this]() { return impl_->l4.open_connections() == 0; },
      std::chrono::steady_clock::now() + kL4Drain, std::chrono::milliseconds(20),
      [this, done = std::move(done)]() mutable { stop_instances(std::move(done)); });
}

void Controller::stop_instances(std::function<void()> done) {
  auto& d = *impl_;
  d.services.stop_all([this, done = std::move(done)]() mutable {
    // Executions got the same grace period; wait for them too.
    poll_until(
        impl_->ctx.executor, [this]() { return impl_->runner.active_count() == 0; },
        std::chrono::steady_clock::time_point::max(), std::chrono::milliseconds(50), std::move(done));
  });
}

void Controller::Impl::announce(const std::string& type, const std::string& ns, const std::string& name) {
  if (!events.has_subscribers()) {
    last_announced.clear();  // what a watcher saw last is known only while one watches
    return;
  }
  // A deployment that is gone has had (or is about to have) its DELETED event: a change its
  // instances or runs report while it goes would bring it back to a watcher that caches.
  const auto* rec = ctx.store.find_deployment(ns, name);
  if (rec == nullptr) {
    last_announced.erase({ns, name});
    return;
  }
  model::Json object = deployment_json(*rec, false);
  // Two reports of one state (an instance's exit and its restart's backoff, say) would be a
  // MODIFIED that changes nothing: a duplicate row in `get -w`.
  std::string text = object.dump();
  auto& last = last_announced[{ns, name}];
  if (type == "MODIFIED" && last == text) return;
  last = std::move(text);
  events.publish({type, "deployment", std::move(object)});
}

void Controller::Impl::on_deployment_changed(const std::string& ns, const std::string& name) {
  // At once, as for the API's own writes: an answer or an event that shows an instance ready
  // or gone must not reach a client before the proxies and DNS have been handed the same view.
  publish_endpoints();
  if (putting != Key{ns, name}) announce("MODIFIED", ns, name);  // else put_deployment announces it
}

void Controller::Impl::on_execution_changed(const model::Execution& e) {
  if (e.terminal()) {
    ++executions_total[{e.ns, e.deployment, model::to_string(e.status)}];
    if (e.started_at && e.completed_at) {
      execution_duration.observe(std::chrono::duration<double>(*e.completed_at - *e.started_at).count());
    }
  }
  // ADDED the first time an execution is seen: when it starts, or when it ends without ever
  // having started (a spawn error). One adopted after a restart was added before it.
  const bool added = e.terminal() ? live_executions.erase(e.id) == 0 && !e.started_at
                                  : live_executions.insert(e.id).second && e.attempts == 1;
  if (events.has_subscribers()) {
    events.publish({added ? "ADDED" : "MODIFIED", "execution", model::encode_execution(e)});
  }
  if (!e.deployment.empty()) {
    announce("MODIFIED", e.ns, e.deployment);
  }
}

void Controller::Impl::publish_endpoints() {
  auto snapshot = std::make_shared<proxy::L4Snapshot>();
  for (const auto& [listener, pub] : published) {
    auto& backends = snapshot->routes[listener];
    for (const auto& ep : services.endpoints(pub.deployment.first, pub.deployment.second)) {
      if (!ep.healthy || pub.port_index >= ep.ports.size()) continue;
      backends.push_back({ep.id, ep.ip, ep.ports[pub.port_index], ep.connections});
    }
  }
  l4.publish(std::move(snapshot));
  if (ctx.bridge != nullptr) {
    std::vector<std::uint16_t> node_ports;
    for (const auto& [listener, pub] : published) node_ports.push_back(pub.port);
    ctx.bridge->set_node_ports(std::move(node_ports));
  }
  publish_zone();
  publish_routes();
  enforce_policies();
}

void Controller::Impl::publish_zone() {
  if (options.dns == nullptr) {
    return;
  }
  std::vector<dns::ServiceEntry> entries;
  for (const auto* rec : ctx.store.list_deployments("")) {
    const auto& spec = rec->spec;
    if (spec.type != model::DeploymentType::kService) continue;
    dns::ServiceEntry entry{spec.ns, spec.name, {}, {}};
    // A service without ports has no SRV names: _http._tcp under it is NXDOMAIN, as an
    // unknown port name is under a service with ports.
    for (const auto& p : spec.ports) entry.port_names.push_back(p.name);
    for (const auto& ep : services.endpoints(spec.ns, spec.name)) {
      boost::system::error_code ec;
      const auto ip = boost::asio::ip::make_address_v4(ep.ip, ec);
      if (ec) continue;
      entry.instances.push_back({ep.instance, ip.to_bytes(), ep.ports, ep.healthy});
    }
    entries.push_back(std::move(entry));
  }
  // SOA serials only grow: seconds since the epoch, or one more when changes come faster.
  const auto now = static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                                  WallClock::now().time_since_epoch()).count());
  zone_serial = std::max(zone_serial + 1, now);
  options.dns->publish(dns::Zone::build(options.dns_zone, entries, zone_serial));
}

std::string port_field(const model::DeploymentSpec& spec, std::uint16_t port) {
  for (std::size_t i = 0; i < spec.ports.size(); ++i) {
    if (spec.ports[i].port == port) return i == 0 && port == spec.port ? "port" : fmt::format("ports[{}].port", i);
  }
  return "expose.nodePort";
}

Result<void> Controller::Impl::check_port_conflicts(const model::DeploymentSpec& spec, const std::set<Key>& replaced) const {
  std::set<std::uint16_t> wanted;
  for (const auto& p : spec.ports) wanted.insert(p.port);
  if (spec.expose.kind == model::Expose::Kind::kNodePort) wanted.insert(spec.expose.node_port);
  for (const auto* rec : ctx.store.list_deployments("")) {
    const auto& other = rec->spec;
    if ((other.ns == spec.ns && other.name == spec.name) || other.type != model::DeploymentType::kService ||
        replaced.contains(Key{other.ns, other.name})) {
      continue;
    }
    std::set<std::uint16_t> theirs;
    for (const auto& p : other.ports) theirs.insert(p.port);
    if (other.expose.kind == model::Expose::Kind::kNodePort) theirs.insert(other.expose.node_port);
    for (auto port : wanted) {
      if (theirs.contains(port)) {
        return Error::conflict(fmt::format("{}: port {} is already published by deployment {}/{}",
                                           port_field(spec, port), port, other.ns, other.name));
      }
    }
  }
  return {};
}

std::vector<Controller::Impl::WantedListener> Controller::Impl::listeners_of(const model::DeploymentSpec& spec) const {
  std::vector<WantedListener> wanted;
  const bool node_port = spec.expose.kind == model::Expose::Kind::kNodePort && !spec.ports.empty();
  for (std::size_t i = 0; i < spec.ports.size(); ++i) {
    const auto port = spec.ports[i].port;
    if (node_port && i == 0 && port == spec.expose.node_port) continue;  // the NodePort takes every address
    auto field = i == 0 && port == spec.port ? std::string("port") : fmt::format("ports[{}].port", i);
    wanted.push_back({listener_name(spec, i), options.publish_address, port, i, std::move(field)});
  }
  if (node_port) {
    // SPEC 7.4: a NodePort is on every address of the node, IPv6 ones too.
    wanted.push_back({node_port_listener_name(spec), "::", spec.expose.node_port, 0, "expose.nodePort"});
  }
  return wanted;
}

const std::string* Controller::Impl::own_listener_on(const model::DeploymentSpec& spec, std::uint16_t port) const {
  for (const auto& [name, pub] : published) {
    if (pub.deployment == Key{spec.ns, spec.name} && pub.port == port) return &name;
  }
  return nullptr;
}

Result<void> Controller::Impl::check_ports_free(const model::DeploymentSpec& spec,
                                               const std::set<std::uint16_t>& released) const {
  for (const auto& l : listeners_of(spec)) {
    if (l4.is_open(l.name) || own_listener_on(spec, l.port) != nullptr || released.contains(l.port)) continue;
    if (auto free = l4.available(l.host, l.port); !free) {
      return Error{free.error().kind, fmt::format("{}: {}", l.field, free.error().message)};
    }
  }
  return {};
}

Result<std::vector<std::string>> Controller::Impl::open_listeners(const model::DeploymentSpec& spec) {
  std::vector<std::string> names;
  std::vector<std::string> opened;
  for (const auto& l : listeners_of(spec)) {
    names.push_back(l.name);
    if (l4.is_open(l.name)) continue;
    // The port moves from one of the service's listeners to another (a NodePort on the
    // service's own port, or off it again): the old one makes room.
    if (const auto* held = own_listener_on(spec, l.port)) {
      const std::string old = *held;
      l4.close(old);
      published.erase(old);
    }
    auto bound = l4.open(l.name, l.host, l.port);
    if (!bound) {
      for (const auto& o : opened) {
        l4.close(o);
        published.erase(o);
      }
      return Error{bound.error().kind, fmt::format("{}: {}", l.field, bound.error().message)};
    }
    opened.push_back(l.name);
    published[l.name] = {{spec.ns, spec.name}, l.port_index, l.port};
  }
  return names;
}

void Controller::Impl::retry_listeners() {
  listen_retry.expires_after(kListenRetry);
  listen_retry.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    for (auto it = listen_failures.begin(); it != listen_failures.end();) {
      const auto* rec = ctx.store.find_deployment(it->first.first, it->first.second);
      if (rec == nullptr || rec->spec.type != model::DeploymentType::kService) {
        it = listen_failures.erase(it);
        continue;
      }
      if (auto opened = open_listeners(rec->spec); !opened) {
        it->second = opened.error().message;
        ++it;
        continue;
      }
      log()->info("deployment {}/{}: its ports are published now", it->first.first, it->first.second);
      const auto key = it->first;
      it = listen_failures.erase(it);
      on_deployment_changed(key.first, key.second);  // hands the new listeners their instances
    }
    if (!listen_failures.empty()) retry_listeners();
  });
}

void Controller::Impl::close_listeners_except(const Key& key, const std::vector<std::string>& keep) {
  for (auto it = published.begin(); it != published.end();) {
    const bool ours = it->second.deployment == key;
    const bool kept = std::find(keep.begin(), keep.end(), it->first) != keep.end();
    if (ours && !kept) {
      l4.close(it->first);
      it = published.erase(it);
    } else {
      ++it;
    }
  }
}

Result<std::uint16_t> Controller::Impl::pick_auto_port(const store::DeploymentRecord* existing) const {
  if (existing != nullptr && existing->spec.port != 0) {
    return existing->spec.port;  // deploying again with --port auto keeps the port
  }
  if (!options.tcp_ports_enabled) {
    return Error::conflict("port: auto needs the TCP port range, which is off (proxy.tcp.enabled: false); give a port");
  }
  std::set<std::uint16_t> used;
  for (const auto* rec : ctx.store.list_deployments("")) {
    for (const auto& p : rec->spec.ports) used.insert(p.port);
    if (rec->spec.expose.kind == model::Expose::Kind::kNodePort) used.insert(rec->spec.expose.node_port);
  }
  for (std::uint32_t port = options.tcp_ports.first; port <= options.tcp_ports.last; ++port) {
    const auto p = static_cast<std::uint16_t>(port);
    if (!used.contains(p) && process::can_bind(options.publish_address, p)) {
      return p;
    }
  }
  return Error::conflict(fmt::format("no free port left in --tcp-ports {}-{}", options.tcp_ports.first,
                                     options.tcp_ports.last));
}

}  // namespace prisn::control
