// SPDX-License-Identifier: MIT
// Controller: executions and secrets.
#include <fmt/format.h>

#include <algorithm>

#include "control/controller_impl.hpp"
#include "prisn/core/log.hpp"

namespace prisn::control {
using model::Json;

Result<model::Execution> Controller::Impl::trigger(const store::DeploymentRecord& rec,
                                                   const std::map<std::string, std::string>& env,
                                                   const std::string& trigger_kind) {
  model::Execution e;
  e.id = supervisor::new_execution_id();
  e.ns = rec.spec.ns;
  e.deployment = rec.spec.name;
  e.trigger = trigger_kind;
  e.runtime = rec.spec.runtime;
  e.filename = rec.spec.filename;
  e.source = rec.spec.source;
  e.args = rec.spec.args;
  e.env = env;
  e.timeout = rec.spec.timeout;
  return runner.start(std::move(e), &rec.spec);
}

Result<Json> Controller::create_execution(const model::ExecutionRequest& req) {
  auto& d = *impl_;
  Result<model::Execution> started = Error::internal("not started");
  if (!req.deployment_id.empty()) {
    const auto* rec = d.ctx.store.find_deployment(req.ns, req.deployment_id);
    if (rec == nullptr) {
      return Error::not_found(fmt::format("deployment '{}' not found in namespace '{}'",
                                          req.deployment_id, req.ns));
    }
    if (rec->spec.type == model::DeploymentType::kService) {
      return Error::invalid(fmt::format(
          "deployment_id: '{}' is a service; only jobs and cron deployments can be triggered",
          req.deployment_id));
    }
    started = d.trigger(*rec, req.env, req.trigger);
  } else {
    model::Execution e;
    e.id = supervisor::new_execution_id();
    e.ns = req.ns;
    e.trigger = req.trigger;
    e.runtime = req.runtime;
    e.filename = req.filename.empty() ? "script" : req.filename;
    e.source = req.source;
    e.args = req.args;
    e.env = req.env;
    e.timeout = req.timeout;
    started = d.runner.start(std::move(e), nullptr);
  }
  if (!started) {
    return started.error();
  }
  return model::encode_execution(*started);
}

Result<Json> Controller::list_executions(const store::ExecutionQuery& query) const {
  auto list = impl_->ctx.store.list_executions(query);
  if (!list) {
    return list.error();
  }
  Json items = Json::array();
  for (const auto& e : *list) {
    const auto* live = impl_->runner.active(e.id);
    items.push_back(model::encode_execution(live != nullptr ? *live : e));
  }
  return Json{{"items", items}};
}

Result<Json> Controller::get_execution(const std::string& id) const {
  if (const auto* live = impl_->runner.active(id)) {
    return model::encode_execution(*live);
  }
  auto found = impl_->ctx.store.get_execution(id);
  if (!found) {
    return found.error();
  }
  if (!*found) {
    return Error::not_found(fmt::format("execution '{}' not found", id));
  }
  return model::encode_execution(**found);
}

Result<Json> Controller::cancel_execution(const std::string& id) {
  auto found = get_execution(id);
  if (!found) {
    return found.error();
  }
  auto cancelled = impl_->runner.cancel(id);
  if (!cancelled) {
    return Error::conflict(fmt::format("execution '{}' has already ended ({})", id,
                                       (*found)["status"].get<std::string>()));
  }
  logger("control")->info("execution {} cancelled", id);
  return model::encode_execution(*cancelled);
}

Json Controller::list_secrets(const std::string& ns) const {
  Json items = Json::array();
  for (const auto* meta : impl_->ctx.store.list_secrets(ns)) {
    items.push_back(model::encode_secret(*meta));
  }
  return {{"items", items}};
}

Result<Json> Controller::get_secret(const std::string& ns, const std::string& name) const {
  const auto* meta = impl_->ctx.store.find_secret(ns, name);
  if (meta == nullptr) {
    return Error::not_found(fmt::format("secret '{}' not found in namespace '{}'", name, ns));
  }
  return model::encode_secret(*meta);
}

Result<Controller::PutResult> Controller::put_secret(const model::SecretWrite& write, bool create_only) {
  auto& d = *impl_;
  const bool exists = d.ctx.store.find_secret(write.ns, write.name) != nullptr;
  if (exists && create_only) {
    return Error::conflict(fmt::format("secret '{}' already exists in namespace '{}'", write.name, write.ns));
  }
  auto meta = d.ctx.store.put_secret(write.ns, write.name, write.data);
  if (!meta) {
    return meta.error();
  }
  logger("control")->info("secret {}/{} {} (keys: {})", write.ns, write.name, exists ? "updated" : "created",
                          meta->keys.size());
  Json out = model::encode_secret(*meta);
  d.publish_certificates();  // it may hold an ingress's certificate
  // Services that could not start without it start now.
  for (const auto* rec : d.ctx.store.list_deployments(write.ns)) {
    const auto& refs = rec->spec.secrets;
    if (std::any_of(refs.begin(), refs.end(), [&](const auto& ref) { return ref.secret == write.name; })) {
      d.services.retry_failed(write.ns, rec->spec.name);
    }
  }
  if (d.events.has_subscribers()) {
    d.events.publish({exists ? "MODIFIED" : "ADDED", "secret", out});
  }
  return PutResult{out, !exists};
}

Result<void> Controller::delete_secret(const std::string& ns, const std::string& name) {
  auto& d = *impl_;
  const auto* meta = d.ctx.store.find_secret(ns, name);
  if (meta == nullptr) {
    return Error::not_found(fmt::format("secret '{}' not found in namespace '{}'", name, ns));
  }
  const Json last = model::encode_secret(*meta);
  if (auto removed = d.ctx.store.delete_secret(ns, name); !removed) {
    return removed;
  }
  d.publish_certificates();
  if (d.events.has_subscribers()) {
    d.events.publish({"DELETED", "secret", last});
  }
  return {};
}

}  // namespace prisn::control
