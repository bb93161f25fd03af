// SPDX-License-Identifier: MIT
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "prisn/dns/codec.hpp"

namespace prisn::dns {

/// Asks the DNS server at `server` ("host:port") one question, as a stub resolver would: over
/// UDP with EDNS0 (4096 bytes), and again over TCP when the answer comes back truncated.
/// Used by `GET /api/v1/dns/lookup`, so the API shows what the DNS server itself answers.
/// Fails with asio::error::timed_out when no answer came within `timeout`.
boost::asio::awaitable<WireResult<Message>> lookup(boost::asio::any_io_executor executor, std::string server,
                                                   Name name, std::uint16_t type, std::chrono::milliseconds timeout);

}  // namespace prisn::dns
