// SPDX-License-Identifier: MIT
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include "api/router.hpp"
#include "prisn/control/controller.hpp"

namespace prisn::api {

/// GET /api/v1/dns/lookup?name=N&type=A: asks prisn DNS itself and shows its answer as JSON.
void add_dns_routes(Router& router, control::Controller& controller, boost::asio::any_io_executor executor);

}  // namespace prisn::api
