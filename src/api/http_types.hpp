// SPDX-License-Identifier: MIT
// The API's own request/response types: handlers see these, never Beast's.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "prisn/control/log_stream.hpp"
#include "prisn/core/error.hpp"
#include "prisn/model/json.hpp"

namespace prisn::api {

struct Request {
  std::string method;  ///< "GET", "POST", ...
  std::string path;    ///< decoded, without the query
  std::map<std::string, std::string> query;
  std::string body;
  std::string content_type;
  bool local_peer = false;  ///< loopback or a local network: trusted unless auth is required
  std::string peer;         ///< the client's address, for the log
  // What tells a browser page's request from a client's (see authorize() in server.cpp).
  std::string origin;      ///< the Origin field, which browsers send with a page's POST
  std::string fetch_site;  ///< the Sec-Fetch-Site field, which browsers send with every request

  /// The query parameter, or `fallback`.
  std::string param(const std::string& name, const std::string& fallback = {}) const {
    auto it = query.find(name);
    return it == query.end() ? fallback : it->second;
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  /// When set, the body is streamed (chunked) from here until it ends.
  std::shared_ptr<control::LogStream> stream;
  /// When set, the answer is not known yet: the session awaits this for the real response
  /// (a handler that must do I/O, such as a DNS lookup, without blocking the control thread).
  std::function<boost::asio::awaitable<Response>()> deferred;
};

/// JSON body; invalid UTF-8 in strings is replaced, never thrown on.
Response json(int status, const model::Json& body);
/// The SPEC §4 error object with the status for its kind.
Response error(const Error& e);
Response error(int status, const std::string& code, const std::string& message);
Response text(int status, std::string body);

/// Percent-decodes a URL component ('+' as space in queries); nullopt when malformed.
std::optional<std::string> url_decode(std::string_view in, bool plus_as_space);
/// Splits "a=1&b=2" into a map (later keys win); false when malformed.
bool parse_query(std::string_view query, std::map<std::string, std::string>& out);

}  // namespace prisn::api
