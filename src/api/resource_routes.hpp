// SPDX-License-Identifier: MIT
#pragma once

#include "api/router.hpp"
#include "prisn/control/controller.hpp"

namespace prisn::api {

/// /api/v1/ingresses, /api/v1/networkpolicies and /api/v1/apply.
void add_resource_routes(Router& router, control::Controller& controller);

}  // namespace prisn::api
