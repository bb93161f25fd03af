// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "prisn/acme/manager.hpp"
#include "prisn/config/config.hpp"
#include "prisn/control/events.hpp"
#include "prisn/control/log_stream.hpp"
#include "prisn/dns/server.hpp"
#include "prisn/logs/log_file.hpp"
#include "prisn/manifest/manifest.hpp"
#include "prisn/model/deployment.hpp"
#include "prisn/model/execution.hpp"
#include "prisn/model/ingress.hpp"
#include "prisn/model/network_policy.hpp"
#include "prisn/model/json.hpp"
#include "prisn/model/secret.hpp"
#include "prisn/proxy/http_router.hpp"
#include "prisn/proxy/l4_proxy.hpp"
#include "prisn/proxy/tls_store.hpp"
#include "prisn/store/store.hpp"
#include "prisn/supervisor/context.hpp"

namespace prisn::control {

struct ControllerOptions {
  std::string publish_address = "0.0.0.0";
  config::PortRange tcp_ports;
  /// proxy.tcp.enabled: false takes the range away, so `--port auto` has none to pick from.
  bool tcp_ports_enabled = true;
  /// prisn DNS, when it is on: the controller hands it a new zone whenever endpoints change.
  dns::Server* dns = nullptr;
  dns::ZoneOptions dns_zone;
  std::string dns_address;  ///< where it listens ("127.0.0.1:53"), for lookups through the API
  /// The L7 router, when --http or --https is on: the controller hands it new routes
  /// whenever ingresses, deployments or endpoints change.
  proxy::HttpRouter* http = nullptr;
  /// The ports the L7 router listens on (HTTP, HTTPS), for traces of ingress hosts.
  std::vector<std::uint16_t> router_ports;
  /// The HTTPS listener's certificates, when it is on: reloaded when a secret, an ingress or
  /// the config file's certificate changes.
  std::shared_ptr<proxy::TlsStore> tls;
  /// ACME, when tls.acme is on: asked for certificates for the ingress hosts that have none.
  acme::Manager* acme = nullptr;
};

/// The control plane: every change to deployments, executions and secrets goes through here,
/// is made durable in the store, then applied to the supervisor, the scheduler and the proxy,
/// and announced on the event bus. The REST API is a thin layer over these calls.
/// Results are JSON in the shapes of SPEC §3-4. Thread: control thread.
class Controller {
 public:
  Controller(supervisor::Context& ctx, proxy::L4Proxy& l4, ControllerOptions options);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  /// Re-adopts what a previous prisnd left running, removes orphans, publishes ports, arms cron.
  void start();
  /// Graceful shutdown (SPEC §6.6): closes the published ports, lets their connections end
  /// (kL4Drain at most), stops every instance and execution, then calls `done`.
  void shutdown(std::function<void()> done);

  // Deployments.
  model::Json list_deployments(const std::string& ns, bool include_source = false) const;
  Result<model::Json> get_deployment(const std::string& ns, const std::string& name,
                                     bool include_source) const;
  struct PutResult {
    model::Json object;  ///< the resource as stored
    bool created = false;
  };
  /// Creates or replaces; `create_only` makes an existing deployment a 409.
  Result<PutResult> put_deployment(model::DeploymentSpec spec, bool create_only);
  Result<void> delete_deployment(const std::string& ns, const std::string& name);
  Result<model::Json> scale(const std::string& ns, const std::string& name, int replicas);
  Result<model::Json> restart(const std::string& ns, const std::string& name);
  Result<model::Json> endpoints(const std::string& ns, const std::string& name) const;

  // Logs.
  Result<std::string> deployment_logs(const std::string& ns, const std::string& name,
                                      const logs::ReadOptions& options) const;
  Result<std::string> execution_logs(const std::string& id, const logs::ReadOptions& options) const;
  Result<std::shared_ptr<LogStream>> follow_deployment_logs(const std::string& ns,
                                                            const std::string& name,
                                                            const logs::ReadOptions& options);
  Result<std::shared_ptr<LogStream>> follow_execution_logs(const std::string& id,
                                                           const logs::ReadOptions& options);

  // Executions.
  Result<model::Json> create_execution(const model::ExecutionRequest& request);
  Result<model::Json> list_executions(const store::ExecutionQuery& query) const;
  Result<model::Json> get_execution(const std::string& id) const;
  Result<model::Json> cancel_execution(const std::string& id);

  // Ingresses and network policies (SPEC §3, §4).
  model::Json list_ingresses(const std::string& ns) const;
  Result<model::Json> get_ingress(const std::string& ns, const std::string& name) const;
  /// 409 when a host and path it routes is routed by another ingress or deployment.
  Result<PutResult> put_ingress(const model::IngressSpec& spec, bool create_only);
  Result<void> delete_ingress(const std::string& ns, const std::string& name);
  model::Json list_network_policies(const std::string& ns) const;
  Result<model::Json> get_network_policy(const std::string& ns, const std::string& name) const;
  Result<PutResult> put_network_policy(const model::NetworkPolicySpec& spec, bool create_only);
  Result<void> delete_network_policy(const std::string& ns, const std::string& name);

  /// Applies a manifest's objects (SPEC §4 /apply): every one is checked first (conflicts of
  /// ports and routes, missing secrets, also between the objects themselves) and nothing is
  /// changed if one fails; then each is created, updated or left as it is.
  /// Returns {"items": [{"kind", "name", "namespace", "action": created|configured|unchanged}]}.
  Result<model::Json> apply(const std::vector<manifest::Item>& items);

  // Secrets.
  model::Json list_secrets(const std::string& ns) const;
  Result<model::Json> get_secret(const std::string& ns, const std::string& name) const;
  Result<PutResult> put_secret(const model::SecretWrite& write, bool create_only);
  Result<void> delete_secret(const std::string& ns, const std::string& name);

  /// ACME's challenges or certificates changed: new routes and certificates.
  void on_acme_change();
  /// The config file's certificate (SIGHUP reloads it); the default for clients without SNI.
  void set_config_certificate(std::optional<proxy::Certificate> cert);
  /// The TTL of prisn DNS answers (a reloaded dns.ttl); the zone is published again with it.
  void set_dns_ttl(std::uint32_t ttl);
  /// Per route target in namespace `ns`: requests, errors, p50/p99 latency, active requests (SPEC §4
  /// /proxy/stats), and the published L4 ports' connection counts.
  model::Json proxy_stats(const std::string& ns) const;
  /// What a request to `host:port/path` would meet (SPEC §4 /proxy/trace): the deployment it
  /// resolves to (by service name, by a port published on this node, or by ingress route),
  /// its healthy instances, the one the balancer picks and why. Port 0: none given (a
  /// service's first port; 80 for an ingress). No I/O: the API then sends the request to the
  /// picked instance.
  /// A bare service name is looked up in `ns`.
  Result<model::Json> trace(const std::string& host, std::uint16_t port, const std::string& path,
                            const std::string& ns) const;

  /// The Kubernetes objects for one deployment (and the ingresses and policies that name it)
  /// or, with `deployment` empty, for the whole namespace, as YAML (SPEC §9).
  Result<std::string> k8s_manifests(const std::string& ns, const std::string& deployment) const;

  /// The DNS server's address ("HOST:PORT"), or empty when DNS is off.
  const std::string& dns_address() const;
  /// prisn DNS's zone ("prisn.local").
  const std::string& dns_domain() const;

  EventBus& events();
  /// Prometheus text (SPEC §8).
  std::string metrics() const;

  struct Impl;

 private:
  /// How long a graceful shutdown waits for the L4 proxy's connections to end.
  static constexpr std::chrono::seconds kL4Drain{5};
  /// Stops every instance and waits for the executions, then calls `done`.
  void stop_instances(std::function<void()> done);

  std::unique_ptr<Impl> impl_;
};

}  // namespace prisn::control
