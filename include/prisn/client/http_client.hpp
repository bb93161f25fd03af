// SPDX-License-Identifier: MIT
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "prisn/core/error.hpp"

namespace prisn::client {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string content_type;
  /// A streamed body's trailer fields that the answer's `Trailer` header announced, by name as
  /// announced (a followed run's log ends with `Prisn-Execution`).
  std::map<std::string, std::string> trailers;
};

/// A small synchronous HTTP/1.1 client for prisnd's REST API (the CLI's only way in), with
/// keep-alive between requests and streamed bodies for followed logs and events.
/// Errors are Error::unavailable when prisnd cannot be reached. Not thread-safe.
class HttpClient {
 public:
  /// `server` is "http://HOST:PORT" or "HOST:PORT"; `token` may be empty.
  static Result<HttpClient> create(const std::string& server, std::string token);
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;
  ~HttpClient();

  Result<HttpResponse> request(const std::string& method, const std::string& target,
                               std::optional<std::string> body = std::nullopt);

  /// Sends the request and passes the body to `on_data` piece by piece as it arrives;
  /// `on_data` returns false to stop early. A non-2xx answer is returned whole, not streamed.
  Result<HttpResponse> stream(const std::string& method, const std::string& target,
                              const std::function<bool(std::string_view)>& on_data);

  /// The server as the user gave it, for messages.
  const std::string& server() const;

  struct Impl;

 private:
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Percent-encodes a path segment or query value.
std::string url_encode(std::string_view in);

}  // namespace prisn::client
