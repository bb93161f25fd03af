// SPDX-License-Identifier: MIT
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <optional>
#include <string>

#include "prisn/control/events.hpp"
#include "prisn/control/log_stream.hpp"

namespace prisn::api {

/// Server-sent events of resource changes ("event: deployment\ndata: {...}\n\n"), with a
/// comment line every 15 s so that proxies and clients see the stream is alive. With `ns`,
/// only the changes of objects in that namespace. A watcher that stops reading is closed once
/// 8 MiB of changes wait for it.
std::shared_ptr<control::LogStream> make_event_stream(control::EventBus& bus,
                                                      boost::asio::any_io_executor executor,
                                                      std::optional<std::string> ns);

}  // namespace prisn::api
