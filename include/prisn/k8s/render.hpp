// SPDX-License-Identifier: MIT
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "prisn/model/deployment.hpp"
#include "prisn/model/ingress.hpp"
#include "prisn/model/json.hpp"
#include "prisn/model/network_policy.hpp"

namespace prisn::k8s {

/// What prisn would create in a Kubernetes cluster (SPEC §9), as objects of the stable APIs:
///  - every deployment: a ConfigMap `NAME-script` holding the script, mounted at /app;
///  - a service: an apps/v1 Deployment (replicas, PORT, env, secrets as secretKeyRef,
///    readiness probe from its health check, resources) and a v1 Service labelled and
///    selected by `prisn.io/deployment: NAME` (type NodePort for `expose.type: nodePort`),
///    plus a networking.k8s.io/v1 Ingress for `expose.type: ingress`;
///  - a cron job: a batch/v1 CronJob (concurrencyPolicy Forbid: no overlapping runs);
///  - a job: a suspended batch/v1 CronJob, run on demand with
///    `kubectl create job --from=cronjob/NAME`;
///  - ingresses and network policies: their networking.k8s.io/v1 counterparts;
///  - first, a Namespace for a namespace other than "default".
/// A Deployment's pod template carries a hash of the script, so a changed script rolls the
/// pods as prisn rolls its instances. IP affinity (ip-hash) becomes the Service's ClientIP
/// affinity; cookie and header affinity have no Kubernetes Service field and are noted in
/// an annotation. Arguments are written with `$` doubled, so Kubernetes passes `$(VAR)`
/// through as prisn does.
/// Secrets are referenced by name only: their values never leave prisn. A CronJob's name is
/// at most 52 characters (Kubernetes adds a suffix for each Job): a longer one is cut, with
/// a hash of the whole name so two cut names do not collide; its labels keep the whole name.
struct RenderOptions {
  std::string time_zone;  ///< IANA name of the node's zone, the CronJobs' timeZone ("": none given)
  /// The first port of every deployment of the namespace an ingress path may name without a
  /// port, rendered here or not (a deployment rendered alone shares its ingresses).
  std::map<std::string, int> first_ports;
  /// The names of the namespace's Ingress resources, rendered here or not: an
  /// `expose.type: ingress` must not take one (see exposed_ingress_name).
  std::set<std::string> ingress_names;
  /// The names of the namespace's deployments with `expose.type: ingress`, rendered here or
  /// not: the first name each one's Ingress would take.
  std::set<std::string> exposing;
};
std::vector<model::Json> objects(const std::vector<model::DeploymentSpec>& deployments,
                                 const std::vector<model::IngressSpec>& ingresses,
                                 const std::vector<model::NetworkPolicySpec>& policies,
                                 const RenderOptions& options = {});

/// Why `d` cannot be rendered as objects the API server accepts, or "" when it can: a
/// service's Service name must begin with a letter (an RFC 1035 label), where a prisn name
/// may begin with a digit, and a script must fit in a ConfigMap (1 MiB).
std::string unrenderable(const model::DeploymentSpec& d);

/// Why an ingress path cannot be a Kubernetes Ingress path, or "" when it can: the API server
/// refuses an encoded slash (%2F) in a Prefix path, which prisn routes as written.
std::string unrenderable_path(const std::string& path);

/// Why an ingress host cannot be a Kubernetes Ingress host, or "" when it can: the API server
/// refuses an IP address, which prisn routes as it routes a name.
std::string unrenderable_host(const std::string& host);

/// The Ingress name a deployment's `expose.type: ingress` renders as: its own, or, when an
/// Ingress resource of the namespace has that name, "NAME-expose" (then "NAME-expose-2", …)
/// unless an Ingress resource or another exposing deployment has that one: two objects of one
/// name would replace each other in `kubectl apply`.
std::string exposed_ingress_name(const std::string& deployment, const RenderOptions& names);

/// The name of the CronJob a job or cron deployment renders as.
std::string cron_job_name(const std::string& deployment);

/// The objects as one YAML stream ("---" between documents), for `kubectl apply -f -`.
std::string to_yaml(const std::vector<model::Json>& objects);

/// The container image a runtime runs in ("python3" → "python:3.11-slim").
std::string image_for(const std::string& runtime);

}  // namespace prisn::k8s
