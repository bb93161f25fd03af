// SPDX-License-Identifier: MIT
#pragma once

#include <map>
#include <string>
#include <vector>

#include "prisn/core/error.hpp"
#include "prisn/model/deployment.hpp"
#include "prisn/store/store.hpp"

namespace prisn::supervisor {

/// Resolves each SecretRef to its value (SPEC §3): the named key, else key "value", else the
/// secret's only key. Errors name the secret and key, never a value.
Result<std::map<std::string, std::string>> resolve_secrets(const store::Store& store,
                                                           const std::string& ns,
                                                           const std::vector<model::SecretRef>& refs);

/// A process environment in SPEC §6.2 order, later layers winning: `base`, then prisn's own
/// variables (PRISN_*, PORT), then the deployment's env, then `overrides`, then secrets.
/// For python3, PYTHONUNBUFFERED=1 comes before the deployment's env so that output reaches
/// the log live; a deployment may turn it off.
std::vector<std::string> build_environment(const std::vector<std::string>& base,
                                           const std::string& runtime,
                                           const std::map<std::string, std::string>& prisn_vars,
                                           const std::map<std::string, std::string>& deployment_env,
                                           const std::map<std::string, std::string>& overrides,
                                           const std::map<std::string, std::string>& secrets);

/// The daemon's own environment minus what must not leak into workloads (PRISN_TOKEN,
/// NOTIFY_SOCKET, LISTEN_FDS, ...).
std::vector<std::string> inherited_environment();

}  // namespace prisn::supervisor
