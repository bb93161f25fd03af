// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "prisn/health/checker.hpp"
#include "prisn/store/store.hpp"
#include "prisn/supervisor/context.hpp"

namespace prisn::supervisor {

/// One instance as the API and the proxy see it.
struct EndpointView {
  std::string id;
  std::string instance;  ///< NAME-i
  int index = 0;
  std::string ip = "127.0.0.1";
  std::vector<std::uint16_t> ports;  ///< its own port per named port, in spec order
  bool healthy = false;              ///< in rotation
  std::string check_failure;         ///< while running and out of rotation: why its last check failed
  std::string state;                 ///< Running | Draining | Stopping
  int pid = 0;
  std::int64_t generation = 0;
  int restarts = 0;
  WallTime started_at{};
  std::shared_ptr<std::atomic<int>> connections;  ///< open proxied connections
};

/// An instance with no process now: it died and waits out its restart backoff (`BackOff`),
/// its restart policy said not to restart it (`Exited`), or it cannot be started until its
/// cause goes (`Waiting`: a secret it needs is missing, say).
struct DownInstanceView {
  std::string instance;  ///< NAME-i
  int index = 0;
  std::string state;  ///< BackOff | Exited
  int restarts = 0;
  std::string last_exit;          ///< "api-1 exited (signal 9)"
  std::optional<int> restart_in;  ///< seconds, while backing off
  std::string message;            ///< `Waiting`: why it cannot start
};

struct ServiceStatus {
  std::string phase;
  int ready = 0;
  int desired = 0;
  int restarts = 0;                  ///< of the current generation's instances
  std::uint64_t restarts_total = 0;  ///< since prisnd started, across generations (a counter)
  std::string message;
};

/// Keeps each service deployment's instances as its record says (SPEC §6.4): replicas
/// NAME-0..N-1 with their own ports, restarts with exponential backoff (CrashLoop while
/// waiting), scaling from the highest index, rolling replacement on a new generation (start
/// the new instance, wait until healthy, then drain and stop the old one), graceful stops
/// (SIGTERM, grace, SIGKILL to the whole tree), and re-adoption after a prisnd restart.
/// Thread: control thread.
class ServiceManager {
 public:
  using Changed = std::function<void(const std::string& ns, const std::string& name)>;

  ServiceManager(Context& ctx, Changed on_change);
  ~ServiceManager();

  /// The health checker whose verdicts decide rotation (set once, before adopt()).
  void set_checker(health::Checker* checker) { checker_ = checker; }
  /// Called by the health checker.
  void on_health(const std::string& instance_id, bool healthy);

  /// Brings one deployment's instances in line with its stored record; stops them all when
  /// the record is gone or no longer a service.
  void reconcile(const std::string& ns, const std::string& name);
  /// Tries again to start a service that could not start (it named a secret since created):
  /// as reconcile(), once its last failure is forgotten.
  void retry_failed(const std::string& ns, const std::string& name);

  /// Re-adopts the instances a previous prisnd left running, counts those that died as
  /// crashes, then reconciles every service.
  void adopt();

  std::vector<EndpointView> endpoints(const std::string& ns, const std::string& name) const;
  /// The instances of a service that have no process now (none run at their index).
  std::vector<DownInstanceView> down_instances(const std::string& ns, const std::string& name) const;
  ServiceStatus status(const store::DeploymentRecord& record) const;
  std::vector<std::string> instance_ids() const;
  std::size_t instance_count() const;
  std::uint64_t restarts_total() const { return restarts_total_; }

  /// Stops every instance for a shutdown; `done` runs once all have exited.
  void stop_all(std::function<void()> done);

  struct Instance;
  struct Service;

 private:
  Service* find(const std::string& ns, const std::string& name);
  Service& service_for(const std::string& ns, const std::string& name);  ///< found, or made empty
  bool start_instance(Service& svc, const store::DeploymentRecord& rec, int index);
  void stop_instance(Instance& inst);
  void drain_instance(Instance& inst);
  void on_exit(const std::string& id);
  void roll(Service& svc, const store::DeploymentRecord& rec);
  void watch(Instance& inst, bool adopted);
  struct Placement {
    std::string ip;
    std::filesystem::path netns;
  };
  std::optional<Placement> adopt_network(const std::string& id, const std::vector<std::uint16_t>& ports);
  Result<void> attach_to_bridge(Instance& inst, const std::filesystem::path& dir);
  void add_health_target(Instance& inst, const model::DeploymentSpec& spec, bool initially_healthy);
  /// prisn's variables for an instance working in `dir` (SPEC §6.2): PRISN_*, PORT, PORT_NAME.
  std::map<std::string, std::string> instance_variables(const model::DeploymentSpec& spec, const Instance& inst,
                                                        const std::filesystem::path& dir) const;
  void check_all_stopped();
  /// Starts slot `index` again after `delay` (back-off), unless something replaces it first.
  void schedule_restart(Service& svc, int index, std::chrono::milliseconds delay);
  /// Records slot `index`'s restart history in the store, for a restarted prisnd.
  void persist_slot(const Service& svc, int index);
  /// What the store recorded of the slots of services as they are now (adopt()).
  void restore_slots();
  std::string first_check_failure(const Service& svc) const;
  std::string first_lost_check(const Service& svc) const;

  Context& ctx_;
  Changed on_change_;
  health::Checker* checker_ = nullptr;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Service>> services_;
  std::map<std::string, Instance*> by_id_;
  std::uint64_t restarts_total_ = 0;
  bool shutting_down_ = false;
  std::function<void()> on_all_stopped_;
};

}  // namespace prisn::supervisor
