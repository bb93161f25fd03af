// SPDX-License-Identifier: MIT
// Starting, stopping and draining one service instance.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <set>
#include <utility>

#include "prisn/core/files.hpp"
#include "prisn/core/log.hpp"
#include "prisn/core/random.hpp"
#include "prisn/logs/log_file.hpp"
#include "prisn/model/runtime.hpp"
#include "prisn/process/interpreter.hpp"
#include "prisn/process/ports.hpp"
#include "prisn/process/spawn.hpp"
#include "prisn/supervisor/environment.hpp"
#include "supervisor/service_types.hpp"

namespace prisn::supervisor {
namespace fs = std::filesystem;

namespace {

auto& log() {
  static auto l = logger("services");
  return l;
}

}  // namespace

std::map<std::string, std::string> ServiceManager::instance_variables(const model::DeploymentSpec& spec,
                                                                      const Instance& inst,
                                                                      const std::filesystem::path& dir) const {
  std::map<std::string, std::string> vars = {
      {"PRISN_DEPLOYMENT", spec.name}, {"PRISN_NAMESPACE", spec.ns},
      {"PRISN_INSTANCE", inst.name},   {"PRISN_API", ctx_.options.api_url},
      {"PWD", dir.string()}};  // its working directory, not prisnd's
  if (!ctx_.options.bridge_api_url.empty()) {
    vars["PRISN_API"] = ctx_.options.bridge_api_url;  // the node's loopback is not in its namespace
  }
  for (std::size_t i = 0; i < spec.ports.size() && i < inst.ports.size(); ++i) {
    vars[model::port_variable(spec.ports[i].name)] = std::to_string(inst.ports[i]);
  }
  if (!inst.ports.empty()) vars["PORT"] = std::to_string(inst.ports.front());
  return vars;
}

bool ServiceManager::start_instance(Service& svc, const store::DeploymentRecord& rec, int index) {
  const auto& spec = rec.spec;
  auto fail = [&](std::string why) {
    svc.failure = std::move(why);
    svc.failed_generation = rec.generation;
    log()->error("deployment {}/{} cannot run: {}", spec.ns, spec.name, svc.failure);
    return false;
  };
  auto interpreter = process::find_interpreter(spec.runtime, ctx_.options.path_env, spec.source);
  if (!interpreter) {
    return fail(fmt::format("runtime {}: interpreter '{}' not found on PATH", spec.runtime,
                            model::interpreter_names(spec.runtime).front()));
  }
  auto secrets = resolve_secrets(ctx_.store, spec.ns, spec.secrets);
  if (!secrets) {
    return fail(secrets.error().message + "; it starts when the secret is created or changed");
  }
  std::set<std::uint16_t> taken;
  for (const auto& [id, inst] : by_id_) {
    taken.insert(inst->ports.begin(), inst->ports.end());
  }
  auto inst = std::make_unique<Instance>(ctx_.executor);
  for (std::size_t i = 0; i < spec.ports.size(); ++i) {
    if (ctx_.bridge != nullptr) {
      inst->ports.push_back(spec.ports[i].port);  // its own address: the deployment's port is free
      continue;
    }
    auto port = process::pick_free_port(taken);
    if (!port) return fail(port.error().message);
    taken.insert(*port);
    inst->ports.push_back(*port);
  }
  inst->id = "in-" + random_hex(6);
  inst->ns = spec.ns;
  inst->deployment = spec.name;
  inst->name = fmt::format("{}-{}", spec.name, index);
  inst->index = index;
  inst->generation = rec.generation;

  const fs::path dir = ctx_.paths.instance_dir(spec.ns, inst->name);
  inst->log_file = ctx_.paths.instance_log(spec.ns, spec.name, inst->name);
  for (const fs::path& d : {dir, inst->log_file.parent_path(), ctx_.paths.exit_file(inst->id).parent_path()}) {
    if (auto made = make_dirs(d); !made) return fail(made.error().message);
  }
  if (auto written = write_file_atomic(dir / spec.filename, spec.source, 0755); !written) {
    return fail(written.error().message);
  }
  const auto prisn_vars = instance_variables(spec, *inst, dir);
  process::SpawnSpec sp;
  sp.program = *interpreter;
  sp.argv = {*interpreter};
  const auto options = model::shebang_options(spec.source, spec.runtime);  // "#!/bin/bash -e": as run directly
  sp.argv.insert(sp.argv.end(), options.begin(), options.end());
  sp.argv.push_back((dir / spec.filename).string());
  sp.argv.insert(sp.argv.end(), spec.args.begin(), spec.args.end());
  sp.env = build_environment(ctx_.options.base_env, spec.runtime, prisn_vars, spec.env, {}, *secrets);
  sp.cwd = dir;
  if (ctx_.options.resolv_conf) sp.resolv_conf = ctx_.options.resolv_conf(spec.ns);
  sp.log_file = inst->log_file;
  logs::end_unfinished_line(inst->log_file);  // an earlier process's last line is not run into this one's first
  sp.exit_file = ctx_.paths.exit_file(inst->id);
  if (ctx_.cgroups.available()) {
    std::vector<std::string> unenforced;
    const process::Limits limits{spec.resources.memory_bytes, spec.resources.cpu_millis, spec.resources.pids};
    if (auto cg = ctx_.cgroups.create(inst->id, limits, unenforced); cg) {
      sp.cgroup = *cg;
    }
    if (!unenforced.empty() && !svc.warned_unenforced) {
      svc.warned_unenforced = true;
      log()->warn("deployment {}/{}: resource limits not enforced ({}): this cgroup hierarchy has "
                  "no such controller", spec.ns, spec.name, fmt::join(unenforced, ", "));
    }
  }
  if (ctx_.bridge != nullptr) {
    if (auto attached = attach_to_bridge(*inst, dir); !attached) return fail(attached.error().message);
    sp.netns = inst->netns;
    sp.hosts_file = dir / "hosts";
  }
  auto ref = process::spawn(sp);
  if (!ref) {
    if (ctx_.bridge != nullptr) ctx_.bridge->detach(inst->id);
    if (!sp.cgroup.empty()) ctx_.cgroups.remove(sp.cgroup);  // nothing runs in it
    return fail(ref.error().message);
  }
  inst->process = *ref;
  inst->cgroup = sp.cgroup;
  inst->started_at = WallClock::now();
  inst->started_steady = SteadyClock::now();
  Slot& slot = svc.slots[index];
  if (std::exchange(slot.restart_due, false)) {
    // A restart is counted as its new process starts (by a reconcile or a roll): not when it
    // is scheduled, nor when the start fails (a secret gone, say) and nothing runs.
    ++slot.restarts;
    ++svc.restarts_total;
    ++restarts_total_;
    persist_slot(svc, index);
  }
  store::InstanceRecord record{inst->id, spec.ns, spec.name, index, rec.generation, inst->ports,
                               inst->process, inst->cgroup.string(), inst->started_at, slot.restarts};
  if (auto stored = ctx_.store.put_instance(record); !stored) {
    log()->error("instance {}: cannot record it: {}", inst->name, stored.error().message);
  }
  log()->info("instance {} started (pid {}{}{})", inst->name, inst->process.pid,
              ctx_.bridge == nullptr ? "" : ", IP " + inst->ip,
              inst->ports.empty() ? "" : fmt::format(", PORT={}", inst->ports.front()));
  Instance& ref_inst = *inst;
  by_id_[inst->id] = inst.get();
  svc.instances.push_back(std::move(inst));
  ctx_.logs.add(ref_inst.log_file, ctx_.options.log_policy());
  watch(ref_inst, /*adopted=*/false);
  add_health_target(ref_inst, spec, /*initially_healthy=*/false);
  return true;
}

// Bridge mode: a namespace with its own address, and an /etc/hosts that names the instance
// (bind-mounted in its mount namespace, as container runtimes do).
Result<void> ServiceManager::attach_to_bridge(Instance& inst, const fs::path& dir) {
  auto attached = ctx_.bridge->attach(inst.id, inst.ports);
  if (!attached) return attached.error();
  inst.ip = network::format_ipv4(attached->address);
  inst.netns = attached->netns_path;
  const std::string fqdn = fmt::format("{}.{}.{}.{}", inst.name, inst.deployment, inst.ns, ctx_.options.dns_domain);
  // The node's host name too (the instance keeps it): gethostbyname(gethostname()), which
  // Python's HTTPServer calls on bind, must not go out to DNS and wait on the upstream.
  char host_name[256] = {0};
  ::gethostname(host_name, sizeof host_name - 1);
  const std::string node = host_name[0] != 0 && host_name != inst.name ? std::string(" ") + host_name : "";
  const std::string hosts = fmt::format("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                                        "{}\t{} {}{}\n", inst.ip, fqdn, inst.name, node);
  if (auto written = write_file_atomic(dir / "hosts", hosts, 0644); !written) {
    ctx_.bridge->detach(inst.id);
    return written.error();
  }
  return {};
}

void ServiceManager::add_health_target(Instance& inst, const model::DeploymentSpec& spec,
                                       bool initially_healthy) {
  auto check = model::effective_health_check(spec);
  if (!check || checker_ == nullptr) {
    inst.healthy = true;  // no check: a running instance is ready
    inst.ever_healthy = true;
    inst.healthy_since = SteadyClock::now();
    // As a passing check would: a rollout waiting for this instance goes on (after the
    // reconcile that started it has finished).
    boost::asio::post(ctx_.executor, [this, ns = inst.ns, name = inst.deployment]() { reconcile(ns, name); });
    return;
  }
  health::Target target;
  target.id = inst.id;
  target.check = *check;
  target.host = inst.ip;
  target.namespaces.net = inst.netns;
  target.port = inst.ports.empty() ? 0 : inst.ports.front();
  for (std::size_t i = 0; i < spec.ports.size() && i < inst.ports.size(); ++i) {
    if (spec.ports[i].port == check->port) {
      target.port = inst.ports[i];  // the check names the deployment's port; map it
    }
  }
  if (check->kind == model::HealthCheck::Kind::kExec) {
    target.cwd = ctx_.paths.instance_dir(spec.ns, inst.name);
    const auto vars = instance_variables(spec, inst, target.cwd);  // SPEC §7.3: the instance's environment
    auto secrets = resolve_secrets(ctx_.store, spec.ns, spec.secrets);
    target.env = build_environment(ctx_.options.base_env, spec.runtime, vars, spec.env, {},
                                   secrets ? *secrets : std::map<std::string, std::string>{});
    // SPEC §7.3: in its namespaces, so it resolves names as the instance does (its
    // resolv.conf and hosts are bind-mounted in its own mount namespace).
    if (ctx_.options.resolv_conf || ctx_.bridge != nullptr) {
      target.namespaces.mnt = fmt::format("/proc/{}/ns/mnt", inst.process.pid);
    }
  }
  target.initially_healthy = initially_healthy;
  inst.healthy = initially_healthy;
  inst.ever_healthy = initially_healthy;
  if (initially_healthy) inst.healthy_since = SteadyClock::now();
  checker_->add(std::move(target));
}

void ServiceManager::watch(Instance& inst, bool adopted) {
  auto on_exit = [this, id = inst.id](std::optional<int>) { this->on_exit(id); };
  if (!adopted) {
    ctx_.watcher.watch_child(inst.process.shim_pid, on_exit);
    return;
  }
  if (ctx_.watcher.watch_adopted(inst.process.shim_pid, inst.process.shim_start_ticks, on_exit)) {
    return;
  }
  if (!ctx_.watcher.watch_adopted(inst.process.pid, inst.process.start_ticks, on_exit)) {
    boost::asio::post(ctx_.executor, [this, id = inst.id]() { this->on_exit(id); });
  }
}

void ServiceManager::stop_instance(Instance& inst) {
  if (inst.state == Instance::State::kStopping) {
    return;
  }
  inst.state = Instance::State::kStopping;
  if (checker_ != nullptr) {
    checker_->remove(inst.id);
  }
  ctx_.cgroups.signal_workload(inst.cgroup, inst.process.shim_pid, SIGTERM);
  inst.stop_timer.expires_after(ctx_.options.stop_grace);
  inst.stop_timer.async_wait([this, id = inst.id](const boost::system::error_code& ec) {
    auto it = by_id_.find(id);
    if (ec || it == by_id_.end()) return;
    Instance& i = *it->second;
    log()->warn("instance {} did not stop within {}; killing it", i.name, format_duration(ctx_.options.stop_grace));
    i.kill_sent = true;
    if (!i.cgroup.empty()) {
      ctx_.cgroups.kill_all(i.cgroup);
    }
    ::killpg(i.process.shim_pid, SIGKILL);
    ::kill(i.process.pid, SIGKILL);
  });
}

void ServiceManager::drain_instance(Instance& inst) {
  if (inst.state != Instance::State::kRunning) {
    return;
  }
  inst.state = Instance::State::kDraining;  // out of rotation from the next published snapshot
  if (checker_ != nullptr) {
    checker_->remove(inst.id);
  }
  const auto deadline = SteadyClock::now() + ctx_.options.stop_grace;
  auto poll = std::make_shared<std::function<void()>>();
  // Waits until the proxy's last connection to the instance has closed, then stops it.
  // The timer's handler holds the only strong reference, so a cancelled wait frees it.
  *poll = [this, id = inst.id, deadline, weak = std::weak_ptr(poll)]() {
    auto it = by_id_.find(id);
    if (it == by_id_.end() || it->second->state != Instance::State::kDraining) {
      return;
    }
    Instance& i = *it->second;
    if (i.connections->load() == 0 || SteadyClock::now() >= deadline) {
      stop_instance(i);
      return;
    }
    i.stop_timer.expires_after(std::chrono::milliseconds(50));
    i.stop_timer.async_wait([self = weak.lock()](const boost::system::error_code& ec) {
      if (!ec && self) (*self)();
    });
  };
  // Give the new snapshot a moment to reach the proxy before counting connections.
  inst.stop_timer.expires_after(std::chrono::milliseconds(100));
  inst.stop_timer.async_wait([poll](const boost::system::error_code& ec) {
    if (!ec) (*poll)();
  });
}

}  // namespace prisn::supervisor
