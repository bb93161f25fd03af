// SPDX-License-Identifier: MIT
// One client connection of the L7 router, over plain TCP or TLS (private to prisn_proxy).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <string>

#include "proxy/http_worker.hpp"

namespace prisn::proxy::detail {

namespace http = beast::http;

/// Reads requests from `client` and answers each through the route it matches, until the
/// client closes, a timeout passes or an answer cannot be kept alive. `Stream` is a
/// beast::tcp_stream or a beast::ssl_stream over one.
template <class Stream>
asio::awaitable<void> serve(std::shared_ptr<Worker> worker, Stream& client, std::string client_ip, bool tls);

}  // namespace prisn::proxy::detail
