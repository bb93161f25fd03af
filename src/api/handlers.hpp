// SPDX-License-Identifier: MIT
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include "api/router.hpp"
#include "prisn/control/controller.hpp"

namespace prisn::api {

/// Registers every REST route of SPEC §4 on `router`.
void add_routes(Router& router, control::Controller& controller, boost::asio::any_io_executor executor);

/// ?namespace= (default "default"), validated.
Result<std::string> namespace_of(const Request& request);

}  // namespace prisn::api
