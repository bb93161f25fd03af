// SPDX-License-Identifier: MIT
#include "prisn/model/deployment.hpp"

#include <cctype>

namespace prisn::model {

const char* to_string(DeploymentType t) {
  switch (t) {
    case DeploymentType::kService: return "service";
    case DeploymentType::kJob: return "job";
    case DeploymentType::kCron: return "cron";
  }
  return "job";
}

const char* to_string(RestartPolicy p) {
  switch (p) {
    case RestartPolicy::kAlways: return "always";
    case RestartPolicy::kOnFailure: return "on-failure";
    case RestartPolicy::kNever: return "never";
  }
  return "never";
}

const char* to_string(Protocol p) { return p == Protocol::kHttp ? "http" : "tcp"; }

std::optional<HealthCheck> effective_health_check(const DeploymentSpec& spec) {
  if (spec.health_check) {
    return spec.health_check;
  }
  if (spec.type == DeploymentType::kService && spec.port != 0) {
    HealthCheck tcp;
    tcp.kind = HealthCheck::Kind::kTcp;
    tcp.port = spec.port;
    return tcp;
  }
  return std::nullopt;
}

std::string port_variable(std::string_view port_name) {
  std::string out = "PORT_";
  for (const char c : port_name) {
    out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

bool needs_rollout(const DeploymentSpec& a, const DeploymentSpec& b) {
  return a.runtime != b.runtime || a.filename != b.filename || a.source != b.source ||
         a.args != b.args || a.env != b.env || a.secrets != b.secrets || a.ports != b.ports ||
         a.port != b.port || a.resources != b.resources || a.health_check != b.health_check ||
         a.restart_policy != b.restart_policy || a.type != b.type;
}

}  // namespace prisn::model
