// SPDX-License-Identifier: MIT
// One ACME conversation (RFC 8555 §7): account, order, HTTP-01, finalize, download
// (private to prisn_acme).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <optional>
#include <string>

#include "prisn/acme/crypto.hpp"
#include "prisn/acme/manager.hpp"
#include "acme/https_client.hpp"

namespace prisn::acme::detail {

/// Publishes (token, key authorization) or withdraws (token, nullopt) an HTTP-01 answer.
using ChallengeSink = std::function<void(const std::string& token, std::optional<std::string> key_authorization)>;

class Client {
 public:
  Client(boost::asio::any_io_executor executor, boost::asio::ssl::context& tls, std::string directory,
         std::string email, Key account_key, ChallengeSink sink);

  /// A certificate for `host`, or why not.
  boost::asio::awaitable<Result<Issued>> obtain(std::string host);

 private:
  boost::asio::awaitable<Result<void>> start();
  /// A signed POST; a badNonce answer is retried with the fresh nonce it carries.
  boost::asio::awaitable<Result<HttpReply>> post(std::string url, std::string payload);
  /// POST-as-GET `url` until its "status" leaves `pending`/`processing`, for up to a minute.
  boost::asio::awaitable<Result<model::Json>> poll(std::string url);
  boost::asio::awaitable<Result<void>> authorize(std::string authz_url);

  boost::asio::any_io_executor executor_;
  boost::asio::ssl::context& tls_;
  std::string directory_url_;
  std::string email_;
  Key key_;
  ChallengeSink sink_;
  model::Json directory_;
  std::string kid_;
  std::string nonce_;
};

}  // namespace prisn::acme::detail
