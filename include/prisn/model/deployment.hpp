// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prisn/core/duration.hpp"

namespace prisn::model {

enum class DeploymentType { kService, kJob, kCron };
enum class RestartPolicy { kAlways, kOnFailure, kNever };
enum class Protocol { kTcp, kHttp };

const char* to_string(DeploymentType t);
const char* to_string(RestartPolicy p);
const char* to_string(Protocol p);

struct NamedPort {
  std::string name;  ///< "http" unless given; names SRV records (_NAME._tcp)
  std::uint16_t port = 0;
  bool operator==(const NamedPort&) const = default;
};

/// One secret injected as an environment variable. An empty `key` means key `value`, or the
/// secret's only key.
struct SecretRef {
  std::string secret;
  std::string key;
  std::string env;
  bool operator==(const SecretRef&) const = default;
};

struct HealthCheck {
  enum class Kind { kTcp, kHttp, kExec };
  Kind kind = Kind::kTcp;
  std::uint16_t port = 0;   ///< one of the deployment's ports; 0 = the instance's PORT
  std::string path = "/";   ///< http
  int expected_status = 0;  ///< http; 0 = any 2xx
  std::vector<std::string> command;  ///< exec
  Millis interval{10'000};
  Millis timeout{5'000};
  int failure_threshold = 3;
  int success_threshold = 1;
  bool operator==(const HealthCheck&) const = default;
};

struct SessionAffinity {
  bool enabled = false;
  std::string type = "cookie";  ///< cookie | ip-hash | header
  std::string header;           ///< for type header
  Millis ttl{3'600'000};
  bool operator==(const SessionAffinity&) const = default;
};

struct LoadBalancing {
  std::string algorithm = "round-robin";  ///< round-robin | least-connections | random | ip-hash
  SessionAffinity affinity;
  bool operator==(const LoadBalancing&) const = default;
};

struct Expose {
  enum class Kind { kNone, kNodePort, kIngress };
  Kind kind = Kind::kNone;
  std::uint16_t node_port = 0;
  std::string host;
  std::string path = "/";
  bool tls = false;
  std::string tls_cert;  ///< secret name
  bool operator==(const Expose&) const = default;
};

struct Resources {
  std::string memory;  ///< as given ("256Mi"); memory_bytes is the parsed value
  std::string cpu;     ///< as given ("500m"); cpu_millis is the parsed value
  std::uint64_t memory_bytes = 0;
  std::uint32_t cpu_millis = 0;
  std::uint32_t pids = 0;
  bool operator==(const Resources&) const = default;
};

/// A deployment's desired state: everything the user gives, validated and with defaults
/// applied (type inferred, runtime detected, ports named). See SPEC §3.
struct DeploymentSpec {
  std::string name;
  std::string ns = "default";
  DeploymentType type = DeploymentType::kJob;
  std::string runtime;
  std::string filename;
  std::string source;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::vector<SecretRef> secrets;
  std::uint16_t port = 0;  ///< the service port; 0 = none
  bool port_auto = false;  ///< "auto" was asked: the API picks `port` from --tcp-ports
  std::vector<NamedPort> ports;
  Protocol protocol = Protocol::kTcp;
  int replicas = 1;
  std::string schedule;
  std::optional<Millis> timeout;
  RestartPolicy restart_policy = RestartPolicy::kNever;
  std::optional<HealthCheck> health_check;  ///< as given; see effective_health_check()
  LoadBalancing load_balancing;
  Expose expose;
  Resources resources;

  bool operator==(const DeploymentSpec&) const = default;
};

/// The check that gates rotation: the explicit one, else TCP on the service port for a
/// service with a port, else none (such instances count as healthy once running).
std::optional<HealthCheck> effective_health_check(const DeploymentSpec& spec);

/// The variable that tells a process where its port named `port_name` is (SPEC §6.2):
/// PORT_ and the name upper-cased, '-' as '_' ("metrics-v2" → PORT_METRICS_V2).
std::string port_variable(std::string_view port_name);

/// True when a change from `before` to `after` needs the instances replaced (anything that
/// reaches the process: code, env, args, secrets, ports, runtime, resources, health checks).
bool needs_rollout(const DeploymentSpec& before, const DeploymentSpec& after);

}  // namespace prisn::model
