// SPDX-License-Identifier: MIT
// Controller: deployment operations and their JSON.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "control/controller_impl.hpp"
#include "prisn/core/log.hpp"
#include "prisn/core/names.hpp"
#include "prisn/cron/cron_expr.hpp"
#include "prisn/model/deployment_json.hpp"
#include "prisn/model/runtime.hpp"
#include "prisn/process/interpreter.hpp"
#include "prisn/supervisor/environment.hpp"

namespace prisn::control {
using model::DeploymentType;
using model::Json;

namespace {

auto& log() {
  static auto l = logger("control");
  return l;
}

Error not_found(const std::string& ns, const std::string& name) {
  return Error::not_found(fmt::format("deployment '{}' not found in namespace '{}'", name, ns));
}

bool exposed_by_ingress(const model::DeploymentSpec& spec) { return spec.expose.kind == model::Expose::Kind::kIngress; }

}  // namespace

void take_auto_port(model::DeploymentSpec& spec, std::uint16_t port) {
  spec.port = port;
  spec.port_auto = false;
  if (spec.ports.empty()) spec.ports.push_back({"http", port});
}

void normalize_ports(model::DeploymentSpec& spec) {
  if (spec.type == DeploymentType::kService && spec.ports.empty() && spec.port != 0) {
    spec.ports.push_back({"http", spec.port});
  }
}

Result<void> Controller::Impl::check_deployment(const model::DeploymentSpec& spec) const {
  if (auto ok = check_deployment_fields(spec); !ok) return ok;
  if (spec.type != DeploymentType::kService) return {};
  if (auto ok = check_port_conflicts(spec); !ok) return ok;
  return check_routes(claimed_routes(), routes_of(spec), fmt::format("deployment {}/{}", spec.ns, spec.name));
}

Result<void> Controller::Impl::check_deployment_fields(const model::DeploymentSpec& spec) const {
  // What a client sends is checked here, not when stored deployments are read back. A
  // schedule no date matches ("0 0 31 2 *") is valid cron, and a typo.
  if (!spec.schedule.empty()) {
    if (auto expr = cron::CronExpr::parse(spec.schedule); expr && !expr->next_after(WallClock::now())) {
      return Error::invalid(fmt::format("schedule: '{}' never fires: no date matches it", spec.schedule));
    }
  }
  // Port names become Kubernetes port names and SRV labels (a rule newer than some stored deployments).
  for (std::size_t i = 0; i < spec.ports.size(); ++i) {
    if (auto ok = validate_port_name(fmt::format("ports[{}].name", i), spec.ports[i].name); !ok) return ok;
    // A NodePort serves the first port; on another port's number it would take that port's
    // connections to the first port's instances.
    if (i > 0 && spec.expose.kind == model::Expose::Kind::kNodePort && spec.expose.node_port == spec.ports[i].port) {
      return Error::invalid(fmt::format("expose.nodePort: {} is ports[{}].port; a NodePort serves the first port ({})",
                                        spec.expose.node_port, i, spec.ports.front().port));
    }
  }
  // Rules newer than some stored deployments, which stay loadable.
  if (spec.type != DeploymentType::kService && spec.restart_policy == model::RestartPolicy::kAlways) {
    return Error::invalid(fmt::format("restartPolicy: always is for services; a {} run ends: use on-failure or never",
                                      model::to_string(spec.type)));
  }
  if (spec.expose.kind != model::Expose::Kind::kNone && spec.port == 0 && spec.ports.empty()) {
    return Error::invalid("expose: a service without a port cannot be exposed; give it a port");
  }
  return {};
}

std::string Controller::Impl::unusable_secret(const model::DeploymentSpec& spec) const {
  if (spec.secrets.empty()) return {};
  // What a run would find: missing, no such key, several keys, a value no environment takes.
  auto resolved = supervisor::resolve_secrets(ctx.store, spec.ns, spec.secrets);
  return resolved ? std::string() : resolved.error().message;
}

Json Controller::Impl::deployment_status(const store::DeploymentRecord& rec) const {
  const auto& spec = rec.spec;
  if (spec.type == DeploymentType::kService) {
    const auto st = services.status(rec);
    auto message = st.message;
    if (auto failed = listen_failures.find({spec.ns, spec.name}); failed != listen_failures.end()) {
      message = fmt::format("{}; retrying every {}s", failed->second, kListenRetry.count()) +
                (message.empty() ? "" : "; " + message);
    }
    return {{"phase", st.phase},     {"ready_replicas", st.ready}, {"desired_replicas", st.desired},
            {"restarts", st.restarts}, {"message", message}};
  }
  std::string phase = runner.running_for(spec.ns, spec.name) ? "Running" : "Idle";
  std::string message;
  if (!process::find_interpreter(spec.runtime, ctx.options.path_env)) {
    phase = "Failed";
    message = fmt::format("runtime {}: interpreter '{}' not found on PATH", spec.runtime,
                          model::interpreter_names(spec.runtime).front());
  } else if (auto unusable = unusable_secret(spec); !unusable.empty()) {
    phase = "Failed";  // as a service's instances wait for it, its runs fail until it is mended
    message = unusable + "; its runs fail until the secret is created or changed";
  }
  return {{"phase", phase}, {"ready_replicas", 0}, {"desired_replicas", 0}, {"restarts", 0}, {"message", message}};
}

Json Controller::Impl::deployment_json(const store::DeploymentRecord& rec, bool include_source) const {
  Json out = model::encode_spec(rec.spec, include_source);
  out["status"] = deployment_status(rec);
  out["generation"] = rec.generation;
  out["created_at"] = to_rfc3339(rec.created_at);
  out["updated_at"] = to_rfc3339(rec.updated_at);
  if (rec.spec.type == DeploymentType::kCron) {
    const auto next = cron.next_run(rec.spec.ns, rec.spec.name);
    out["next_run"] = next ? Json(to_rfc3339(*next)) : Json(nullptr);
    out["last_run"] = rec.last_run ? Json(to_rfc3339(*rec.last_run)) : Json(nullptr);
    out["skipped_ticks"] = rec.skipped_ticks;
  }
  return out;
}

Json Controller::list_deployments(const std::string& ns, bool include_source) const {
  Json items = Json::array();
  for (const auto* rec : impl_->ctx.store.list_deployments(ns)) {
    items.push_back(impl_->deployment_json(*rec, include_source));
  }
  return {{"items", items}};
}

Result<Json> Controller::get_deployment(const std::string& ns, const std::string& name,
                                        bool include_source) const {
  const auto* rec = impl_->ctx.store.find_deployment(ns, name);
  if (rec == nullptr) {
    return not_found(ns, name);
  }
  return impl_->deployment_json(*rec, include_source);
}

Result<Controller::PutResult> Controller::put_deployment(model::DeploymentSpec spec, bool create_only) {
  auto& d = *impl_;
  const auto* existing = d.ctx.store.find_deployment(spec.ns, spec.name);
  if (existing != nullptr && create_only) {
    return Error::conflict(fmt::format("deployment '{}' already exists in namespace '{}'", spec.name, spec.ns));
  }
  if (spec.port_auto) {
    auto port = d.pick_auto_port(existing);
    if (!port) return port.error();
    take_auto_port(spec, *port);
  }
  normalize_ports(spec);
  if (auto ok = d.check_deployment(spec); !ok) return ok.error();
  const Key key{spec.ns, spec.name};
  std::vector<std::string> old_listeners;
  for (const auto& [listener, pub] : d.published) {
    if (pub.deployment == key) old_listeners.push_back(listener);
  }
  std::vector<std::string> listeners;
  if (spec.type == DeploymentType::kService) {
    auto opened = d.open_listeners(spec);
    if (!opened) return opened.error();
    listeners = std::move(*opened);
    d.listen_failures.erase({spec.ns, spec.name});
  }
  // An ingress host, TLS or not, is one ACME obtains a certificate for, and expose.tls.cert
  // maps one: the certificate set changes when the host comes or goes. (Read before the store
  // write, which may update `existing` in place.)
  const bool was_exposed = existing != nullptr && exposed_by_ingress(existing->spec);
  store::DeploymentRecord rec;
  const auto now = WallClock::now();
  if (existing != nullptr) {
    rec = *existing;
    if (model::needs_rollout(existing->spec, spec)) ++rec.generation;
  } else {
    rec.created_at = now;
    // A new deployment starts with empty logs, as a new Kubernetes object does: instance
    // logs left by a deleted one of the same name are not its own. (Runs keep their history.)
    std::error_code ignored;
    std::filesystem::remove_all(d.ctx.paths.deployment_logs(spec.ns, spec.name), ignored);
  }
  rec.updated_at = now;
  rec.spec = std::move(spec);
  if (auto stored = d.ctx.store.put_deployment(rec); !stored) {
    d.close_listeners_except(key, old_listeners);
    return stored.error();
  }
  d.close_listeners_except(key, listeners);
  log()->info("deployment {}/{} {} (generation {})", key.first, key.second,
              existing != nullptr ? "updated" : "created", rec.generation);
  // The reconcile's own instance changes are not announced: a watcher learns of a new
  // deployment (ADDED) before any change to it, with what the reconcile and cron made of it.
  d.putting = key;
  d.services.reconcile(key.first, key.second);
  d.putting.reset();
  d.cron.sync(key.first, key.second);
  d.publish_endpoints();  // now: routes, names and ports are in place before the API answers
  if (was_exposed || exposed_by_ingress(rec.spec)) d.publish_certificates();
  d.announce(existing != nullptr ? "MODIFIED" : "ADDED", key.first, key.second);
  const auto* stored = d.ctx.store.find_deployment(key.first, key.second);
  return PutResult{d.deployment_json(*stored, false), existing == nullptr};
}

Result<void> Controller::delete_deployment(const std::string& ns, const std::string& name) {
  auto& d = *impl_;
  const auto* rec = d.ctx.store.find_deployment(ns, name);
  if (rec == nullptr) {
    return not_found(ns, name);
  }
  const Json last = d.deployment_json(*rec, false);
  const bool was_exposed = exposed_by_ingress(rec->spec);
  if (auto removed = d.ctx.store.delete_deployment(ns, name); !removed) {
    return removed;
  }
  log()->info("deployment {}/{} deleted", ns, name);
  // Its runs stop as its instances do (their history stays), as deleting a Kubernetes Job
  // or stopping a Nomad batch job stops what it runs.
  d.runner.stop_for(ns, name, "cancelled: deployment deleted");
  d.close_listeners_except({ns, name}, {});
  d.services.reconcile(ns, name);
  d.cron.sync(ns, name);
  d.publish_endpoints();  // now: routes, names and ports are in place before the API answers
  if (was_exposed) d.publish_certificates();  // its host's certificate goes with its route
  if (d.events.has_subscribers()) {
    d.events.publish({"DELETED", "deployment", last});
  }
  return {};
}

Result<Json> Controller::scale(const std::string& ns, const std::string& name, int replicas) {
  auto& d = *impl_;
  const auto* rec = d.ctx.store.find_deployment(ns, name);
  if (rec == nullptr) {
    return not_found(ns, name);
  }
  if (rec->spec.type != DeploymentType::kService) {
    return Error::invalid(fmt::format("replicas: deployment '{}' is a {}; only services have replicas",
                                      name, model::to_string(rec->spec.type)));
  }
  store::DeploymentRecord updated = *rec;
  updated.spec.replicas = replicas;
  updated.updated_at = WallClock::now();
  if (auto stored = d.ctx.store.put_deployment(updated); !stored) {
    return stored.error();
  }
  log()->info("deployment {}/{} scaled to {}", ns, name, replicas);
  d.services.reconcile(ns, name);
  return d.deployment_json(*d.ctx.store.find_deployment(ns, name), false);
}

Result<Json> Controller::restart(const std::string& ns, const std::string& name) {
  auto& d = *impl_;
  const auto* rec = d.ctx.store.find_deployment(ns, name);
  if (rec == nullptr) {
    return not_found(ns, name);
  }
  if (rec->spec.type != DeploymentType::kService) {
    return Error::invalid(fmt::format("deployment '{}' is a {}; only services restart (use trigger)",
                                      name, model::to_string(rec->spec.type)));
  }
  store::DeploymentRecord updated = *rec;
  ++updated.generation;  // a new generation rolls every instance, one at a time
  updated.updated_at = WallClock::now();
  if (auto stored = d.ctx.store.put_deployment(updated); !stored) {
    return stored.error();
  }
  log()->info("deployment {}/{}: rolling restart (generation {})", ns, name, updated.generation);
  d.services.reconcile(ns, name);
  return d.deployment_json(*d.ctx.store.find_deployment(ns, name), false);
}

Result<Json> Controller::endpoints(const std::string& ns, const std::string& name) const {
  auto& d = *impl_;
  const auto* rec = d.ctx.store.find_deployment(ns, name);
  if (rec == nullptr) {
    return not_found(ns, name);
  }
  std::vector<std::pair<int, Json>> by_index;  // in instance order, running or not
  for (const auto& ep : d.services.endpoints(ns, name)) {
    Json ports = Json::object();
    for (std::size_t i = 0; i < ep.ports.size() && i < rec->spec.ports.size(); ++i) {
      ports[rec->spec.ports[i].name] = ep.ports[i];
    }
    by_index.emplace_back(ep.index, Json{{"instance", ep.instance},
                                         {"ip", ep.ip},
                                         {"port", ep.ports.empty() ? Json(nullptr) : Json(ep.ports.front())},
                                         {"ports", ports},
                                         {"healthy", ep.healthy},
                                         {"state", ep.state},
                                         {"pid", ep.pid},
                                         {"generation", ep.generation},
                                         {"restarts", ep.restarts},
                                         {"started_at", to_rfc3339(ep.started_at)},
                                         {"connections", ep.connections ? ep.connections->load() : 0}});
    if (!ep.check_failure.empty()) by_index.back().second["message"] = ep.check_failure;
  }
  // SPEC §4: every instance with its state, those with no process now too (never in rotation).
  for (const auto& down : d.services.down_instances(ns, name)) {
    by_index.emplace_back(down.index, Json{{"instance", down.instance},
                                           {"ip", nullptr},
                                           {"port", nullptr},
                                           {"ports", Json::object()},
                                           {"healthy", false},
                                           {"state", down.state},
                                           {"pid", nullptr},
                                           {"generation", nullptr},
                                           {"restarts", down.restarts},
                                           {"started_at", nullptr},
                                           {"connections", 0},
                                           {"last_exit", down.last_exit},
                                           {"restart_in_s", down.restart_in ? Json(*down.restart_in) : Json(nullptr)}});
    if (!down.message.empty()) by_index.back().second["message"] = down.message;
  }
  std::stable_sort(by_index.begin(), by_index.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  Json list = Json::array();
  for (auto& [index, ep] : by_index) list.push_back(std::move(ep));
  return Json{{"name", name}, {"namespace", ns}, {"port", rec->spec.port}, {"endpoints", list}};
}

}  // namespace prisn::control
