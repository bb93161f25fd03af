// SPDX-License-Identifier: MIT
// ServiceManager: reconciling instances with records, exits, restarts, rolling updates.
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <set>
#include <boost/asio/post.hpp>

#include "prisn/core/log.hpp"
#include "prisn/model/deployment_json.hpp"
#include "prisn/process/proc.hpp"
#include "prisn/process/spawn.hpp"
#include "supervisor/service_types.hpp"

namespace prisn::supervisor {
namespace fs = std::filesystem;
using State = ServiceManager::Instance::State;

namespace {

auto& log() {
  static auto l = logger("services");
  return l;
}

bool should_restart(model::RestartPolicy policy, std::optional<int> status) {
  switch (policy) {
    case model::RestartPolicy::kAlways: return true;
    case model::RestartPolicy::kNever: return false;
    case model::RestartPolicy::kOnFailure:
      return !status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0;
  }
  return true;
}

}  // namespace

ServiceManager::ServiceManager(Context& ctx, Changed on_change)
    : ctx_(ctx), on_change_(std::move(on_change)) {}

ServiceManager::~ServiceManager() = default;

ServiceManager::Service* ServiceManager::find(const std::string& ns, const std::string& name) {
  auto it = services_.find({ns, name});
  return it == services_.end() ? nullptr : it->second.get();
}

ServiceManager::Service& ServiceManager::service_for(const std::string& ns, const std::string& name) {
  auto& svc = services_[{ns, name}];
  if (!svc) {
    svc = std::make_unique<Service>();
    svc->ns = ns;
    svc->name = name;
  }
  return *svc;
}

void ServiceManager::reconcile(const std::string& ns, const std::string& name) {
  const auto* rec = ctx_.store.find_deployment(ns, name);
  Service* svc = find(ns, name);
  const bool wanted = rec != nullptr && rec->spec.type == model::DeploymentType::kService;
  if (!wanted) {
    if (svc == nullptr) {
      return;
    }
    svc->slots.clear();
    for (auto& inst : svc->instances) {
      stop_instance(*inst);
    }
    if (svc->instances.empty()) {
      services_.erase({ns, name});
    }
    on_change_(ns, name);
    return;
  }
  if (svc == nullptr) svc = &service_for(ns, name);
  const int replicas = rec->spec.replicas;
  if (svc->failed_generation != rec->generation) {
    svc->failure.clear();
  }
  // Scale down from the highest index, as a rollout stops an old instance: out of rotation
  // first, stopped once the proxies' connections to it end (or the grace period does), so
  // requests in flight finish.
  for (auto& inst : svc->instances) {
    if (inst->index >= replicas) drain_instance(*inst);
  }
  if (std::erase_if(svc->slots, [&](const auto& entry) { return entry.first >= replicas; }) > 0) {
    (void)ctx_.store.delete_slots(ns, name, replicas);  // scaled away: a later scale-up starts afresh
  }
  if (!shutting_down_ && svc->failure.empty()) {
    for (int i = 0; i < replicas; ++i) {
      const bool occupied = std::any_of(svc->instances.begin(), svc->instances.end(), [&](const auto& inst) {
        return inst->index == i && inst->state != State::kStopping;
      });
      Slot& slot = svc->slots[i];
      if (slot.generation != rec->generation) {
        // A changed spec (or `prisn restart`) starts afresh: a crash-looping instance is
        // replaced now instead of when the old spec's backoff ends, its count starts at 0.
        slot = Slot{};
        slot.generation = rec->generation;
        persist_slot(*svc, i);
      }
      if (!occupied && !slot.restart_timer && !slot.exited_for_good) {
        if (!start_instance(*svc, *rec, i)) break;
      }
    }
    if (svc->failure.empty()) {
      roll(*svc, *rec);
    }
  }
  on_change_(ns, name);
}

void ServiceManager::retry_failed(const std::string& ns, const std::string& name) {
  Service* svc = find(ns, name);
  if (svc == nullptr || svc->failure.empty()) return;
  svc->failure.clear();
  svc->failed_generation = -1;
  reconcile(ns, name);
}

// One rolling step at a time: a new-generation instance starts beside an old one; once it is
// healthy the old one drains and stops; then the next index.
void ServiceManager::roll(Service& svc, const store::DeploymentRecord& rec) {
  const auto gen = rec.generation;
  auto at = [&](int index, bool current, auto pred) {
    std::vector<Instance*> out;
    for (auto& inst : svc.instances) {
      if (inst->index == index && (inst->generation == gen) == current && pred(*inst)) {
        out.push_back(inst.get());
      }
    }
    return out;
  };
  auto running = [](const Instance& i) { return i.state == State::kRunning; };
  bool step_in_progress = false;
  for (int i = 0; i < rec.spec.replicas; ++i) {
    auto olds = at(i, false, running);
    if (olds.empty()) continue;
    auto ready_new = at(i, true, [](const Instance& n) { return n.state == State::kRunning && n.healthy; });
    if (!ready_new.empty()) {
      for (Instance* old : olds) drain_instance(*old);
      continue;
    }
    if (!at(i, true, running).empty()) step_in_progress = true;  // waiting for it to be healthy
  }
  if (step_in_progress) {
    return;
  }
  for (int i = 0; i < rec.spec.replicas; ++i) {
    auto olds = at(i, false, running);
    if (olds.empty() || !at(i, true, running).empty()) continue;
    const bool serving = std::any_of(olds.begin(), olds.end(), [](Instance* o) { return o->healthy || o->unchecked; });
    if (!serving) {
      for (Instance* old : olds) stop_instance(*old);  // it serves nothing: replace it outright
    }
    start_instance(svc, rec, i);
    return;
  }
}

void ServiceManager::on_health(const std::string& instance_id, bool healthy) {
  auto it = by_id_.find(instance_id);
  if (it == by_id_.end()) {
    return;
  }
  Instance& inst = *it->second;
  if (healthy && !inst.healthy) inst.healthy_since = SteadyClock::now();
  inst.healthy = healthy;
  inst.unchecked = false;
  if (healthy) {
    inst.ever_healthy = true;
  }
  if (healthy) {
    log()->info("instance {}/{} is healthy: in rotation", inst.ns, inst.name);
  } else {
    log()->info("instance {}/{} is unhealthy: out of rotation ({})", inst.ns, inst.name,
                checker_ != nullptr ? checker_->last_failure(inst.id) : std::string("its check failed"));
  }
  reconcile(inst.ns, inst.deployment);
}

void ServiceManager::on_exit(const std::string& id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) {
    return;
  }
  Instance& inst = *it->second;
  Service* svc = find(inst.ns, inst.deployment);
  std::optional<int> status = process::read_exit_status(ctx_.paths.exit_file(id));
  if (!status && inst.kill_sent) {
    status = SIGKILL;
  }
  const std::string how = status ? process::describe_wait_status(*status) : "exit status unknown";
  const bool expected = inst.state != State::kRunning;
  if (checker_ != nullptr) checker_->remove(id);
  if (ctx_.bridge != nullptr) ctx_.bridge->detach(id);
  if (!inst.cgroup.empty()) {
    ctx_.cgroups.kill_all(inst.cgroup);  // leftovers of the tree go with it
    if (!ctx_.cgroups.remove(inst.cgroup)) {
      boost::asio::post(ctx_.executor, [this, cg = inst.cgroup]() { ctx_.cgroups.remove(cg); });
    }
  }
  ctx_.logs.remove(inst.log_file);
  std::error_code ec;
  fs::remove(ctx_.paths.exit_file(id), ec);
  (void)ctx_.store.delete_instance(id);
  const std::string ns = inst.ns;
  const std::string name = inst.deployment;
  const int index = inst.index;
  const bool was_healthy = inst.ever_healthy && inst.healthy;
  // SPEC §6.4: the backoff resets after 10 s of healthy uptime, not of uptime.
  const auto healthy_for = was_healthy ? std::chrono::duration_cast<std::chrono::milliseconds>(
                                             SteadyClock::now() - inst.healthy_since)
                                       : std::chrono::milliseconds(0);
  by_id_.erase(it);
  if (svc != nullptr) {
    std::erase_if(svc->instances, [&](const auto& p) { return p->id == id; });
  }
  if (expected || svc == nullptr || shutting_down_) {
    log()->info("instance {}-{} stopped ({})", name, index, how);
    if (svc != nullptr && svc->instances.empty() && ctx_.store.find_deployment(ns, name) == nullptr) {
      services_.erase({ns, name});
    }
    check_all_stopped();
    reconcile(ns, name);
    return;
  }
  const auto* rec = ctx_.store.find_deployment(ns, name);
  Slot& slot = svc->slots[index];
  slot.last_exit = fmt::format("{}-{} exited ({})", name, index, how);
  if (rec == nullptr || !should_restart(rec->spec.restart_policy, status)) {
    slot.exited_for_good = true;
    log()->warn("{}; restart policy {}: not restarting", slot.last_exit,
                rec ? model::to_string(rec->spec.restart_policy) : "none");
    if (rec != nullptr) persist_slot(*svc, index);
    reconcile(ns, name);
    return;
  }
  const auto delay = slot.backoff.next_delay(healthy_for, was_healthy);
  slot.restart_due = true;
  log()->warn("{}; restarting in {}", slot.last_exit, format_duration(delay));
  schedule_restart(*svc, index, delay);
  persist_slot(*svc, index);
  on_change_(ns, name);
}

void ServiceManager::schedule_restart(Service& svc, int index, std::chrono::milliseconds delay) {
  Slot& slot = svc.slots[index];
  slot.restart_at = SteadyClock::now() + delay;
  slot.restart_timer = std::make_unique<boost::asio::steady_timer>(ctx_.executor, delay);
  slot.restart_timer->async_wait([this, ns = svc.ns, name = svc.name, index](const boost::system::error_code& ec) {
    if (ec) return;
    if (Service* s = find(ns, name)) {
      if (auto sl = s->slots.find(index); sl != s->slots.end()) sl->second.restart_timer.reset();
    }
    reconcile(ns, name);
  });
}

void ServiceManager::persist_slot(const Service& svc, int index) {
  const auto it = svc.slots.find(index);
  if (it == svc.slots.end()) return;
  const Slot& slot = it->second;
  store::SlotRecord r{svc.ns, svc.name, index, slot.generation, slot.restarts, slot.backoff.level(),
                      slot.restart_due, std::nullopt, slot.exited_for_good, slot.last_exit};
  if (slot.restart_timer) {
    r.restart_at = WallClock::now() + std::chrono::duration_cast<WallClock::duration>(slot.restart_at - SteadyClock::now());
  }
  if (auto ok = ctx_.store.put_slot(r); !ok) {
    log()->warn("cannot record the restart history of {}/{}-{}: {}", svc.ns, svc.name, index, ok.error().message);
  }
}

void ServiceManager::restore_slots() {
  auto records = ctx_.store.load_slots();
  if (!records) {
    log()->error("cannot read the instances' restart history: {}", records.error().message);
    return;
  }
  for (const auto& r : *records) {
    const auto* rec = ctx_.store.find_deployment(r.ns, r.deployment);
    // History of a spec since changed, or of an index since scaled away, starts afresh.
    if (rec == nullptr || rec->spec.type != model::DeploymentType::kService || r.generation != rec->generation ||
        r.index >= rec->spec.replicas) {
      continue;
    }
    Service& svc = service_for(r.ns, r.deployment);
    Slot& slot = svc.slots[r.index];
    slot.generation = r.generation;
    slot.restarts = r.restarts;
    slot.backoff.restore(r.backoff_level);
    slot.restart_due = r.restart_due;
    slot.exited_for_good = r.exited_for_good;
    slot.last_exit = r.last_exit;
    if (r.restart_at && *r.restart_at > WallClock::now()) {  // the rest of its back-off
      schedule_restart(svc, r.index,
                       std::chrono::duration_cast<std::chrono::milliseconds>(*r.restart_at - WallClock::now()));
    }
  }
}

std::vector<EndpointView> ServiceManager::endpoints(const std::string& ns, const std::string& name) const {
  std::vector<EndpointView> out;
  auto it = services_.find({ns, name});
  if (it == services_.end()) {
    return out;
  }
  for (const auto& inst : it->second->instances) {
    EndpointView v;
    v.id = inst->id;
    v.instance = inst->name;
    v.index = inst->index;
    v.ip = inst->ip;
    v.ports = inst->ports;
    v.healthy = inst->healthy && inst->state == State::kRunning;
    if (!v.healthy && inst->state == State::kRunning && checker_ != nullptr) v.check_failure = checker_->last_failure(inst->id);
    v.state = inst->state == State::kRunning ? "Running" : inst->state == State::kDraining ? "Draining" : "Stopping";
    v.pid = inst->process.pid;
    v.generation = inst->generation;
    // A slot counts the restarts of its current generation: not an older instance's.
    const auto slot = it->second->slots.find(inst->index);
    v.restarts = slot != it->second->slots.end() && slot->second.generation == inst->generation ? slot->second.restarts : 0;
    v.started_at = inst->started_at;
    v.connections = inst->connections;
    out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(), [](const EndpointView& a, const EndpointView& b) {
    return std::tie(a.index, a.generation) < std::tie(b.index, b.generation);
  });
  return out;
}

std::vector<DownInstanceView> ServiceManager::down_instances(const std::string& ns, const std::string& name) const {
  std::vector<DownInstanceView> out;
  auto it = services_.find({ns, name});
  if (it == services_.end()) return out;
  const Service& svc = *it->second;
  for (const auto& [index, slot] : svc.slots) {
    if (!slot.restart_timer && !slot.exited_for_good) continue;
    // An instance of an earlier generation at this index (a roll that has stalled) does not
    // hide the new one that is backing off: both are listed.
    const bool running = std::any_of(svc.instances.begin(), svc.instances.end(), [&, index = index](const auto& inst) {
      return inst->index == index && inst->generation == slot.generation;
    });
    if (running) continue;
    DownInstanceView v{fmt::format("{}-{}", name, index), index, slot.restart_timer ? "BackOff" : "Exited",
                       slot.restarts, slot.last_exit, std::nullopt};
    if (slot.restart_timer) {
      const auto left = std::chrono::ceil<std::chrono::seconds>(slot.restart_at - SteadyClock::now());
      v.restart_in = static_cast<int>(std::max<long>(0, left.count()));
    }
    out.push_back(std::move(v));
  }
  // An instance that cannot be started at all (its secret was deleted, say) has no process
  // and no backoff: it waits for the cause to go, and is listed with it.
  const auto* rec = ctx_.store.find_deployment(ns, name);
  if (rec == nullptr || svc.failure.empty() || svc.failed_generation != rec->generation) return out;
  for (int index = 0; index < rec->spec.replicas; ++index) {
    const bool present = std::any_of(svc.instances.begin(), svc.instances.end(),
                                     [&](const auto& inst) { return inst->index == index; }) ||
                         std::any_of(out.begin(), out.end(), [&](const auto& v) { return v.index == index; });
    if (present) continue;
    const auto slot = svc.slots.find(index);
    DownInstanceView v{fmt::format("{}-{}", name, index), index, "Waiting",
                       slot == svc.slots.end() ? 0 : slot->second.restarts,
                       slot == svc.slots.end() ? "" : slot->second.last_exit, std::nullopt};
    v.message = svc.failure;
    out.push_back(std::move(v));
  }
  return out;
}

// Why a service's new instances are not in rotation yet: the first one whose check fails,
// and why ("" while none has failed: they are starting).
std::string ServiceManager::first_check_failure(const Service& svc) const {
  if (checker_ == nullptr) return {};
  for (const auto& inst : svc.instances) {
    if (inst->state != State::kRunning || inst->ever_healthy) continue;
    if (auto why = checker_->last_failure(inst->id); !why.empty()) {
      return fmt::format("waiting for a passing health check: {}: {}", inst->name, why);
    }
  }
  return {};
}

// Why a running instance that was in rotation left it: the first such one, and its check's
// failure ("" when none has).
std::string ServiceManager::first_lost_check(const Service& svc) const {
  if (checker_ == nullptr) return {};
  for (const auto& inst : svc.instances) {
    if (inst->state != State::kRunning || !inst->ever_healthy || inst->healthy) continue;
    if (auto why = checker_->last_failure(inst->id); !why.empty()) {
      return fmt::format("{} fails its health check: {}", inst->name, why);
    }
  }
  return {};
}

ServiceStatus ServiceManager::status(const store::DeploymentRecord& rec) const {
  ServiceStatus st;
  st.desired = rec.spec.replicas;
  auto it = services_.find({rec.spec.ns, rec.spec.name});
  if (it == services_.end()) {
    st.phase = st.desired == 0 ? "Stopped" : "Pending";
    return st;
  }
  const Service& svc = *it->second;
  st.restarts_total = svc.restarts_total;
  bool any_starting = false;
  for (const auto& inst : svc.instances) {
    if (inst->state == State::kRunning && inst->healthy) ++st.ready;
    if (inst->state == State::kRunning && !inst->ever_healthy) any_starting = true;
  }
  st.ready = std::min(st.ready, st.desired);
  const Slot* backing_off = nullptr;
  const Slot* gave_up = nullptr;
  for (const auto& [index, slot] : svc.slots) {
    st.restarts += slot.restarts;
    if (slot.restart_timer) backing_off = &slot;
    if (slot.exited_for_good) gave_up = &slot;
  }
  if (!svc.failure.empty() && svc.failed_generation == rec.generation && st.ready == 0) {
    st.phase = "Failed";
    st.message = svc.failure;
  } else if (!svc.failure.empty() && svc.failed_generation == rec.generation) {
    // A rollout (or restart) that cannot start its instances keeps the earlier ones serving,
    // as Kubernetes keeps the old ReplicaSet: the service runs, and the message says why the
    // new generation does not.
    st.phase = st.ready >= st.desired ? "Running" : "Degraded";
    st.message = fmt::format("{}{}: {}", model::kNewInstancesCannotStart,
                             st.ready >= st.desired ? "" : fmt::format(" ({} of {} instances healthy)", st.ready, st.desired),
                             svc.failure);
  } else if (st.desired == 0) {
    st.phase = "Stopped";
  } else if (backing_off != nullptr) {
    const auto left = std::chrono::ceil<std::chrono::seconds>(backing_off->restart_at - SteadyClock::now());  // as restart_in_s
    const auto why = fmt::format("{}; restarting in {}s", backing_off->last_exit, std::max<long>(0, left.count()));
    // A stalled rollout whose earlier instances all serve is running; the message says why
    // the new ones are not.
    st.phase = st.ready >= st.desired ? "Running" : "CrashLoop";
    st.message = st.ready >= st.desired ? fmt::format("{}: {}", model::kNewInstancesCannotStart, why) : why;
  } else if (st.ready >= st.desired) {
    st.phase = "Running";
    // A roll whose new instances fail their check: the old ones serve, and the message says
    // why the roll does not go on.
    st.message = first_check_failure(svc);
  } else if (gave_up != nullptr) {
    st.phase = "Degraded";
    st.message = gave_up->last_exit + "; not restarted (restart policy)";
  } else if (st.ready == 0 && any_starting) {
    st.phase = "Pending";
    st.message = first_check_failure(svc);
  } else {
    st.phase = "Degraded";
    st.message = fmt::format("{} of {} instances healthy", st.ready, st.desired);
    for (const auto& why : {first_lost_check(svc), first_check_failure(svc)}) {
      if (!why.empty()) st.message += "; " + why;
    }
  }
  return st;
}

std::vector<std::string> ServiceManager::instance_ids() const {
  std::vector<std::string> ids;
  for (const auto& [id, inst] : by_id_) ids.push_back(id);
  return ids;
}

std::size_t ServiceManager::instance_count() const { return by_id_.size(); }

void ServiceManager::adopt() {
  restore_slots();  // first: the instances found alive add to what it recorded
  auto records = ctx_.store.load_instances();
  if (!records) {
    log()->error("cannot read instances: {}", records.error().message);
    return;
  }
  for (const auto& r : *records) {
    const auto* rec = ctx_.store.find_deployment(r.ns, r.deployment);
    const bool shim_alive = process::is_same_process(r.process.shim_pid, r.process.shim_start_ticks);
    const bool alive = shim_alive || process::is_same_process(r.process.pid, r.process.start_ticks);
    auto kill_it = [&]() {
      if (!alive) return;
      if (!r.cgroup.empty()) ctx_.cgroups.kill_all(r.cgroup);
      if (shim_alive) ::killpg(r.process.shim_pid, SIGKILL);
      ::kill(r.process.pid, SIGKILL);
    };
    if (rec == nullptr || rec->spec.type != model::DeploymentType::kService) {
      kill_it();
      network::Bridge::remove_namespace(r.id);
      (void)ctx_.store.delete_instance(r.id);
      continue;
    }
    auto place = alive ? adopt_network(r.id, r.ports) : std::optional<Placement>();
    if (alive && !place) {
      // Started in the other network mode (or its namespace is gone): it cannot serve here.
      kill_it();
    }
    Service* svc_ptr = &service_for(r.ns, r.deployment);
    Slot& slot = svc_ptr->slots[r.index];
    slot.generation = std::max(slot.generation, r.generation);  // its count is kept unless the spec changed since
    slot.restarts = std::max(slot.restarts, r.restarts);
    if (!place) {
      // It died while no prisnd watched it (a crash like any other), or it cannot serve in this
      // network mode: restarted by reconcile.
      const auto status = process::read_exit_status(ctx_.paths.exit_file(r.id));
      log()->warn("instance {}-{} {}; restarting it", r.deployment, r.index,
                  alive ? "was started in another network mode"
                        : fmt::format("ended while prisnd was down ({})",
                                      status ? process::describe_wait_status(*status) : "exit status unknown"));
      network::Bridge::remove_namespace(r.id);
      slot.restart_due = true;
      std::error_code ec;
      fs::remove(ctx_.paths.exit_file(r.id), ec);
      if (!r.cgroup.empty()) ctx_.cgroups.remove(r.cgroup);
      (void)ctx_.store.delete_instance(r.id);
      continue;
    }
    auto inst = std::make_unique<Instance>(ctx_.executor);
    inst->id = r.id;
    inst->ns = r.ns;
    inst->deployment = r.deployment;
    inst->name = fmt::format("{}-{}", r.deployment, r.index);
    inst->index = r.index;
    inst->generation = r.generation;
    inst->ports = r.ports;
    inst->ip = place->ip;
    inst->netns = place->netns;
    inst->process = r.process;
    inst->cgroup = r.cgroup;
    inst->log_file = ctx_.paths.instance_log(r.ns, r.deployment, inst->name);
    inst->started_at = r.started_at;
    inst->started_steady = SteadyClock::now() - std::chrono::duration_cast<SteadyClock::duration>(WallClock::now() - r.started_at);
    Instance& ref = *inst;
    by_id_[inst->id] = inst.get();
    svc_ptr->instances.push_back(std::move(inst));
    ctx_.logs.add(ref.log_file, ctx_.options.log_policy());
    watch(ref, /*adopted=*/true);
    // Out of rotation until its first check, which runs at once: its health before the
    // restart is not known, and an instance that never passed must not be taken as healthy
    // (a roll would count it and stop a healthy old instance).
    ref.unchecked = true;
    add_health_target(ref, rec->spec, /*initially_healthy=*/false);
    log()->info("instance {} re-adopted (pid {})", ref.name, ref.process.pid);
  }
  if (ctx_.bridge != nullptr) {
    std::set<std::string> keep;
    for (const auto& [id, inst] : by_id_) keep.insert(id);
    ctx_.bridge->remove_stale(keep);
  }
  for (const auto* rec : ctx_.store.list_deployments("")) {
    if (rec->spec.type == model::DeploymentType::kService) {
      reconcile(rec->spec.ns, rec->spec.name);
    }
  }
}

// Where a live instance left by a previous prisnd is on the network, if it can serve in the
// mode this prisnd runs in: in bridge mode, in its namespace (with its address reserved); in
// host mode, on the node (an instance with a namespace was started in bridge mode).
std::optional<ServiceManager::Placement> ServiceManager::adopt_network(const std::string& id,
                                                                      const std::vector<std::uint16_t>& ports) {
  if (ctx_.bridge == nullptr) {
    if (std::filesystem::exists(network::Bridge::netns_path(id))) return std::nullopt;
    return Placement{"127.0.0.1", {}};
  }
  auto attached = ctx_.bridge->adopt(id, ports);
  if (!attached) {
    log()->warn("instance {}: cannot take over its network namespace: {}", id, attached.error().message);
    return std::nullopt;
  }
  return Placement{network::format_ipv4(attached->address), attached->netns_path};
}

void ServiceManager::stop_all(std::function<void()> done) {
  shutting_down_ = true;
  on_all_stopped_ = std::move(done);
  for (auto& [key, svc] : services_) {
    svc->slots.clear();
    for (auto& inst : svc->instances) {
      stop_instance(*inst);
    }
  }
  check_all_stopped();
}

void ServiceManager::check_all_stopped() {
  if (shutting_down_ && by_id_.empty() && on_all_stopped_) {
    auto done = std::move(on_all_stopped_);
    on_all_stopped_ = nullptr;
    boost::asio::post(ctx_.executor, std::move(done));
  }
}

}  // namespace prisn::supervisor
