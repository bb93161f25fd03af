// SPDX-License-Identifier: MIT
// A minimal HTTP(S) client for talking to an ACME server (private to prisn_acme).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <map>
#include <string>

#include "prisn/core/error.hpp"

namespace boost::asio::ssl {
class context;
}

namespace prisn::acme::detail {

struct HttpReply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  ///< names in lowercase
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

/// One request on a fresh connection: https:// URLs are verified against `tls` (the system
/// roots plus any configured CA), with SNI and host-name checks. At most 1 MiB of body.
boost::asio::awaitable<Result<HttpReply>> fetch(boost::asio::any_io_executor executor, boost::asio::ssl::context& tls,
                                                std::string method, std::string url, std::string body,
                                                std::string content_type);

}  // namespace prisn::acme::detail
