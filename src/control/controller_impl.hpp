// SPDX-License-Identifier: MIT
// Controller's private state, shared by its source files.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "prisn/control/controller.hpp"
#include "prisn/control/metrics.hpp"
#include "prisn/health/checker.hpp"
#include "prisn/proxy/l7_snapshot.hpp"
#include "prisn/supervisor/cron_scheduler.hpp"
#include "prisn/supervisor/executions.hpp"
#include "prisn/supervisor/services.hpp"

namespace prisn::control {

using Key = std::pair<std::string, std::string>;
/// A host and path an ingress or an exposed deployment routes ("" host = any).
/// A deployment by namespace and name, as a check should see it; null when there is none.
using FindDeployment = std::function<const model::DeploymentSpec*(const std::string& ns, const std::string& name)>;
using RouteKey = std::pair<std::string, std::string>;

struct Controller::Impl {
  Impl(supervisor::Context& ctx, proxy::L4Proxy& l4, ControllerOptions options);

  supervisor::Context& ctx;
  proxy::L4Proxy& l4;
  ControllerOptions options;
  EventBus events;
  supervisor::ExecutionRunner runner;
  supervisor::ServiceManager services;
  health::Checker checker;
  supervisor::CronScheduler cron;

  /// A published port: listener name → which deployment and which of its named ports.
  struct Published {
    Key deployment;
    std::size_t port_index = 0;
    std::uint16_t port = 0;  ///< where it listens on the node
  };
  std::map<std::string, Published> published;
  /// Services whose published ports could not be opened when prisnd started (another
  /// process held one), with the reason: their status says it, and the ports are tried
  /// again every kListenRetry until they open or the deployment changes.
  std::map<Key, std::string> listen_failures;
  boost::asio::steady_timer listen_retry;
  static constexpr std::chrono::seconds kListenRetry{2};
  void retry_listeners();

  // Metrics kept here (the rest is read from the modules when /metrics is scraped).
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> executions_total;
  std::set<std::string> live_executions;  ///< ids announced ADDED and not ended yet
  Histogram execution_duration{{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600}};

  model::Json deployment_json(const store::DeploymentRecord& rec, bool include_source) const;
  model::Json deployment_status(const store::DeploymentRecord& rec) const;

  void on_deployment_changed(const std::string& ns, const std::string& name);
  void on_execution_changed(const model::Execution& e);
  void announce(const std::string& type, const std::string& ns, const std::string& name);
  /// Each deployment's object as its last event carried it, while someone watches.
  std::map<Key, std::string> last_announced;

  /// Rebuilds and hands over the L4 snapshot, the DNS zone and the L7 routes, at every change
  /// (so no answer or event runs ahead of them). Bringing up 1,000 instances at once costs no
  /// measurable extra CPU for it (5.5-6.2 s of prisnd CPU, against 5.7-9.0 s when changes were
  /// coalesced per event-loop turn).
  void publish_endpoints();
  /// The zone prisn DNS answers from, built from every service's endpoints.
  void publish_zone();
  /// The L7 router's routes: ingress rules and deployments exposed by ingress (routes.cpp).
  void publish_routes();
  /// The HTTPS certificates: the config file's, and those of secrets named by ingresses'
  /// tls and deployments' expose.tls.
  void publish_certificates();
  std::optional<proxy::Certificate> config_certificate;
  /// Tells ACME which hosts need a certificate: those the secrets do not cover.
  void sync_acme(const std::vector<proxy::Certificate>& from_secrets);

  /// A route target's state that outlives snapshots: its balancer and its stats.
  struct TargetState {
    std::shared_ptr<proxy::Balancer> balancer;
    model::LoadBalancing lb;
    std::shared_ptr<proxy::RouteStats> stats = std::make_shared<proxy::RouteStats>();
  };
  /// By namespace, deployment and port (0 = the first).
  std::map<std::tuple<std::string, std::string, std::uint16_t>, TargetState> targets;
  /// The deployment put_deployment is reconciling now: its changes are announced once, after.
  std::optional<Key> putting;
  /// The router's answers to requests no route took (metrics' route "none").
  std::shared_ptr<proxy::RouteStats> unrouted = std::make_shared<proxy::RouteStats>();
  std::shared_ptr<const proxy::L7Target> l7_target(const std::string& ns, const std::string& name, std::uint16_t port);
  std::uint32_t zone_serial = 0;
  /// A listener a service needs: its name, address, port and the deployment's port it serves.
  struct WantedListener {
    std::string name;
    std::string host;
    std::uint16_t port = 0;
    std::size_t port_index = 0;
    std::string field;  ///< the spec's field that asks for it, for errors
  };
  std::vector<WantedListener> listeners_of(const model::DeploymentSpec& spec) const;
  /// Opens the listeners `spec` needs that are not open yet; on failure closes what it opened.
  Result<std::vector<std::string>> open_listeners(const model::DeploymentSpec& spec);
  /// The name of the listener of `spec`'s deployment that holds `port` now, if any.
  const std::string* own_listener_on(const model::DeploymentSpec& spec, std::uint16_t port) const;
  /// Whether the listeners `spec` needs and has not got could be opened now (nothing else
  /// listens on their ports): what apply checks before it changes anything.
  /// `released`: ports that deployments applied before it in a manifest give up.
  Result<void> check_ports_free(const model::DeploymentSpec& spec, const std::set<std::uint16_t>& released = {}) const;
  void close_listeners_except(const Key& key, const std::vector<std::string>& keep);
  /// 409 when another stored service publishes a port of `spec`, naming the field; the
  /// deployments in `replaced` (by a manifest, before `spec`) are left out.
  Result<void> check_port_conflicts(const model::DeploymentSpec& spec, const std::set<Key>& replaced = {}) const;
  /// What put_deployment checks before changing anything: its fields, then ports and routes.
  /// (A secret it names may come later, as in Kubernetes: its instances start once it exists.)
  Result<void> check_deployment(const model::DeploymentSpec& spec) const;
  /// check_deployment() without the checks against other deployments and ingresses.
  Result<void> check_deployment_fields(const model::DeploymentSpec& spec) const;
  /// Why a run could not use a secret `spec` names now (missing, no such key, several keys and
  /// none named, a NUL byte, too large for the environment), or "".
  std::string unusable_secret(const model::DeploymentSpec& spec) const;

  // Ingresses and network policies (resources.cpp).
  /// Every host/path routed now, with who routes it ("ingress default/web").
  std::map<RouteKey, std::string> claimed_routes() const;
  model::Json ingress_json(const store::ResourceRecord& rec) const;
  /// What keeps an ingress's TLS from serving now (HTTPS off, a secret it names missing while
  /// ACME is off), as `apply` warns about it, or nothing.
  std::optional<std::string> ingress_tls_warning(const model::IngressSpec& spec) const;
  model::Json policy_json(const store::ResourceRecord& rec) const;
  /// put_ingress() with its paths' ports checked against the deployments `find` gives.
  Result<PutResult> put_ingress(const model::IngressSpec& spec, bool create_only,
                                const FindDeployment& find);
  Result<PutResult> put_resource(const char* kind, const std::string& ns, const std::string& name, model::Json spec,
                                 bool create_only);
  Result<void> delete_resource(const char* kind, const std::string& ns, const std::string& name);
  Result<std::uint16_t> pick_auto_port(const store::DeploymentRecord* existing) const;

  // Network policy enforcement in bridge mode (policies.cpp).
  /// Installs the nftables filter for every policy and the instances it is about now; run
  /// whenever instances, published ports or policies change.
  void enforce_policies();
  std::vector<network::GuardedTarget> guarded_targets() const;
  /// Makes the cgroup groups the targets' allowances name (dropping any that cannot be made)
  /// and returns the subtree they are in, for the filter on runs; nothing without cgroups.
  network::RunCgroups run_cgroups_for(std::vector<network::GuardedTarget>& targets) const;
  /// The policies on deployment port `port` as the L7 router applies them (bridge mode, where
  /// they are enforced), or null when none is about it.
  std::shared_ptr<const proxy::SourcePolicy> router_policy(const std::string& ns, const std::string& name,
                                                           std::uint16_t port) const;
  std::vector<std::uint32_t> instance_addresses(const std::string& ns, const std::string& name) const;
  /// Why policies are not enforced now, or nothing when they are.
  std::optional<std::string> policy_not_enforced() const;
  std::string policy_failure;  ///< the last failed installation's error

  Result<model::Execution> trigger(const store::DeploymentRecord& rec,
                                   const std::map<std::string, std::string>& env,
                                   const std::string& trigger);
};

/// A service port given alone is its "http" named port.
void normalize_ports(model::DeploymentSpec& spec);
/// `port: auto` resolved: the spec takes `port` as its port (and first named port).
void take_auto_port(model::DeploymentSpec& spec, std::uint16_t port);
std::vector<RouteKey> routes_of(const model::IngressSpec& spec);
std::vector<RouteKey> routes_of(const model::DeploymentSpec& spec);
/// The field that gives each of routes_of(spec), in its order ("rules[0].paths[1].path").
std::vector<std::string> route_fields(const model::IngressSpec& spec);
/// The field that publishes `port` of `spec` ("port", "ports[1].port", "expose.nodePort").
std::string port_field(const model::DeploymentSpec& spec, std::uint16_t port);
/// 409 when one of `wanted` is claimed by someone other than `self`; `describe` turns the
/// owner's name into what the message says of it; `fields` (one per route), when given,
/// begin the message with the field that asks for the route.
Result<void> check_routes(const std::map<RouteKey, std::string>& claimed, const std::vector<RouteKey>& wanted,
                          const std::string& self,
                          const std::function<std::string(const std::string&)>& describe = nullptr,
                          const std::vector<std::string>& fields = {});

/// 422 when a path of `spec` names a port its deployment does not have. `find` gives the
/// deployment as it will be (null when it does not exist yet: an ingress may come first).
Result<void> check_ingress_ports(const model::IngressSpec& spec, const FindDeployment& find);

/// Listener names: "ns/name/portname:port" for published ports, "ns/name/nodePort:port".
std::string listener_name(const model::DeploymentSpec& spec, std::size_t port_index);
std::string node_port_listener_name(const model::DeploymentSpec& spec);

}  // namespace prisn::control
