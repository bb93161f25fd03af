// SPDX-License-Identifier: MIT
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include "api/router.hpp"
#include "prisn/control/controller.hpp"

namespace prisn::api {

/// GET /api/v1/proxy/stats and POST /api/v1/proxy/trace.
void add_proxy_routes(Router& router, control::Controller& controller, boost::asio::any_io_executor executor);

}  // namespace prisn::api
