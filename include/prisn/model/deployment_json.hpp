// SPDX-License-Identifier: MIT
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "prisn/core/error.hpp"
#include "prisn/model/deployment.hpp"
#include "prisn/model/json.hpp"

namespace prisn::model {

/// Where the request came from, for fields the body may leave out.
struct DecodeContext {
  std::string ns;            ///< from ?namespace= (empty when not given)
  std::string name_in_path;  ///< PUT /deployments/{name}: the body's name must match or be absent
  /// A spec read back from the store: rules added since it was stored, which it may break
  /// without harm, do not refuse it (a service's timeout is dropped, a port check on a service
  /// without a port is kept), so an upgrade never leaves a deployment behind.
  bool stored = false;
};

/// Validates a deployment request body (SPEC §3) field by field and applies defaults.
/// Errors are Error::invalid naming the field ("replicas: must be between 0 and 1000").
/// Output-only fields a client may send back (status, created_at, ...) are ignored; any other
/// unknown field is an error. Never throws.
Result<DeploymentSpec> decode_deployment(const Json& body, const DecodeContext& ctx);

/// An `env` object (SPEC §3): NAME: value, names as a shell takes them ([A-Za-z_][A-Za-z0-9_]*),
/// numbers and booleans as their text, no NUL in a value. Errors name `path`.NAME.
Result<std::map<std::string, std::string>> decode_env(const Json* v, const std::string& path);

/// An `args` list: at most `max_items` strings (numbers and booleans as their text), no NUL.
/// Errors name `path`[i].
Result<std::vector<std::string>> decode_args(const Json* v, const std::string& path, std::size_t max_items);

/// `args` and `env` small enough for execve (exec_limits.hpp), each string and all together;
/// errors name the field. Checked as they are sent, not on what is stored: a deployment stored
/// before the rule still loads.
Result<void> check_exec_sizes(const std::vector<std::string>& args, const std::map<std::string, std::string>& env);

/// The spec as the API shows it (SPEC §3 field names); `source` only when asked for.
Json encode_spec(const DeploymentSpec& spec, bool include_source);

/// The health check object as the API shows it.
Json encode_health_check(const HealthCheck& check);

/// How a running service's status message begins while its new generation cannot start (its
/// earlier instances serve on).
inline constexpr std::string_view kNewInstancesCannotStart = "new instances cannot start";

/// What `prisn deploy` and `apply` warn of, from a deployment's `status` object: stored, but it
/// cannot run (a secret it names is missing, its runtime is not installed), or its new
/// instances cannot start. Nullopt when neither.
std::optional<std::string> deployment_warning(const Json& status);

}  // namespace prisn::model
