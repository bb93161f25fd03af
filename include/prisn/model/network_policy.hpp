// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "prisn/core/error.hpp"
#include "prisn/model/deployment_json.hpp"
#include "prisn/model/json.hpp"

namespace prisn::model {

/// One ingress rule of a policy: these deployments may reach the target on these ports
/// (no ports = every port).
struct PolicyRule {
  std::vector<std::string> from;  ///< deployment names, in the policy's namespace
  std::vector<std::uint16_t> ports;
  bool operator==(const PolicyRule&) const = default;
};

/// The seed's NetworkPolicy (SPEC §7.6): who may reach `target`'s instances.
struct NetworkPolicySpec {
  std::string name;
  std::string ns = "default";
  std::string target;  ///< deployment name
  std::vector<PolicyRule> ingress;
  bool operator==(const NetworkPolicySpec&) const = default;
};

/// Validates a policy body, flat or in the seed's shape; errors name the field.
Result<NetworkPolicySpec> decode_network_policy(const Json& body, const DecodeContext& ctx);
Json encode_network_policy(const NetworkPolicySpec& spec);

}  // namespace prisn::model
