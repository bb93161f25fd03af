// SPDX-License-Identifier: MIT
#include "acme/client.hpp"

#include <fmt/format.h>

#include <string_view>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "prisn/core/base64.hpp"

namespace prisn::acme::detail {
namespace asio = boost::asio;
using model::Json;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr const char* kJose = "application/jose+json";

// An ACME problem document (RFC 7807) as a message.
std::string problem(const HttpReply& r) {
  const Json body = Json::parse(r.body, nullptr, false);
  if (body.is_object() && body.contains("detail") && body["detail"].is_string()) {
    return fmt::format("{} ({})", body["detail"].get<std::string>(), body.value("type", std::string("?")));
  }
  return fmt::format("HTTP {}", r.status);
}

bool is_problem(const HttpReply& r, std::string_view type) {
  const Json body = Json::parse(r.body, nullptr, false);
  return r.status >= 400 && body.is_object() && body.value("type", std::string()) == type;
}

bool is_bad_nonce(const HttpReply& r) { return r.status == 400 && is_problem(r, "urn:ietf:params:acme:error:badNonce"); }

// The server no longer knows the account (it was deactivated, or the server lost its state):
// registering the key again gives a new account URL (RFC 8555 §7.3).
bool is_unknown_account(const HttpReply& r) { return is_problem(r, "urn:ietf:params:acme:error:accountDoesNotExist"); }

asio::awaitable<void> sleep_for(asio::any_io_executor ex, std::chrono::milliseconds d) {
  asio::steady_timer t(ex, d);
  co_await t.async_wait(kNoThrow);
}

// Request bodies are built outside the coroutines: g++ 12 miscompiles braced initializer
// lists inside coroutine bodies ("array used as initializer").
std::string account_request(const std::string& email) {
  Json account = {{"termsOfServiceAgreed", true}};
  if (!email.empty()) account["contact"] = Json::array({"mailto:" + email});
  return account.dump();
}

std::string order_request(const std::string& host) {
  return Json{{"identifiers", Json::array({Json{{"type", "dns"}, {"value", host}}})}}.dump();
}

std::string finalize_request(const std::string& csr_der) { return Json{{"csr", base64url_encode(csr_der)}}.dump(); }

std::string json_string(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

}  // namespace

Client::Client(asio::any_io_executor executor, asio::ssl::context& tls, std::string directory, std::string email,
               Key account_key, ChallengeSink sink)
    : executor_(executor),
      tls_(tls),
      directory_url_(std::move(directory)),
      email_(std::move(email)),
      key_(std::move(account_key)),
      sink_(std::move(sink)) {}

asio::awaitable<Result<void>> Client::start() {
  if (!kid_.empty()) co_return Result<void>{};
  auto dir = co_await fetch(executor_, tls_, "GET", directory_url_, "", "");
  if (!dir) co_return dir.error();
  directory_ = Json::parse(dir->body, nullptr, false);
  if (dir->status != 200 || json_string(directory_, "newAccount").empty()) {
    co_return Error::unavailable(fmt::format("{} is not an ACME directory ({})", directory_url_, problem(*dir)));
  }
  auto created = co_await post(json_string(directory_, "newAccount"), account_request(email_));
  if (!created) co_return created.error();
  if (created->status != 200 && created->status != 201) {
    co_return Error::unavailable(fmt::format("ACME account: {}", problem(*created)));
  }
  kid_ = created->header("location");
  if (kid_.empty()) co_return Error::unavailable("ACME account: the server gave no account URL");
  co_return Result<void>{};
}

asio::awaitable<Result<HttpReply>> Client::post(std::string url, std::string payload) {
  for (int attempt = 0, registered_again = 0;; ++attempt) {
    if (nonce_.empty()) {
      auto head = co_await fetch(executor_, tls_, "HEAD", json_string(directory_, "newNonce"), "", "");
      if (!head) co_return head.error();
      nonce_ = head->header("replay-nonce");
      if (nonce_.empty()) co_return Error::unavailable("ACME: the server gave no nonce");
    }
    auto jws = sign_jws(key_, kid_, nonce_, url, payload);
    if (!jws) co_return jws.error();
    nonce_.clear();
    auto reply = co_await fetch(executor_, tls_, "POST", url, jws->dump(), kJose);
    if (!reply) co_return reply.error();
    nonce_ = reply->header("replay-nonce");  // every answer carries the next one
    if (is_unknown_account(*reply) && !kid_.empty() && registered_again++ == 0) {
      kid_.clear();
      if (auto again = co_await start(); !again) co_return again.error();
      continue;  // the same request, signed for the new account
    }
    if (!is_bad_nonce(*reply) || attempt >= 3) co_return reply;
  }
}

asio::awaitable<Result<Json>> Client::poll(std::string url) {
  for (int i = 0; i < 120; ++i) {
    auto reply = co_await post(url, "");
    if (!reply) co_return reply.error();
    if (reply->status != 200) co_return Error::unavailable(fmt::format("ACME: {}", problem(*reply)));
    Json body = Json::parse(reply->body, nullptr, false);
    const std::string status = json_string(body, "status");
    if (status != "pending" && status != "processing") co_return body;
    co_await sleep_for(executor_, std::chrono::milliseconds(500));
  }
  co_return Error::unavailable(fmt::format("ACME: {} still pending after a minute", url));
}

asio::awaitable<Result<void>> Client::authorize(std::string authz_url) {
  auto fetched = co_await post(authz_url, "");  // pending until its challenge is answered
  if (!fetched) co_return fetched.error();
  if (fetched->status != 200) co_return Error::unavailable(fmt::format("ACME authorization: {}", problem(*fetched)));
  const Result<Json> authz = Json::parse(fetched->body, nullptr, false);
  if (json_string(*authz, "status") == "valid") co_return Result<void>{};
  const Json* challenge = nullptr;
  for (const auto& c : (*authz)["challenges"]) {
    if (json_string(c, "type") == "http-01") challenge = &c;
  }
  if (challenge == nullptr) co_return Error::unavailable("ACME: the server offers no http-01 challenge");
  const std::string token = json_string(*challenge, "token");
  sink_(token, token + "." + key_.thumbprint());
  auto answered = co_await post(json_string(*challenge, "url"), "{}");
  Result<Json> done = Error::unavailable("unreachable");
  if (!answered) {
    done = answered.error();
  } else if (answered->status != 200) {
    done = Error::unavailable(fmt::format("ACME challenge: {}", problem(*answered)));
  } else {
    done = co_await poll(authz_url);
  }
  sink_(token, std::nullopt);
  if (!done) co_return done.error();
  if (json_string(*done, "status") != "valid") {
    std::string why = json_string(*done, "status");
    for (const auto& c : (*done)["challenges"]) {
      if (c.contains("error") && c["error"].is_object()) why = json_string(c["error"], "detail");
    }
    co_return Error::unavailable(fmt::format("ACME: validation failed: {}", why));
  }
  co_return Result<void>{};
}

asio::awaitable<Result<Issued>> Client::obtain(std::string host) {
  if (auto ok = co_await start(); !ok) co_return ok.error();
  auto created = co_await post(json_string(directory_, "newOrder"), order_request(host));
  if (!created) co_return created.error();
  if (created->status != 201) co_return Error::unavailable(fmt::format("ACME order: {}", problem(*created)));
  const std::string order_url = created->header("location");
  Json order = Json::parse(created->body, nullptr, false);
  for (const auto& authz : order["authorizations"]) {
    if (!authz.is_string()) continue;
    if (auto ok = co_await authorize(authz.get<std::string>()); !ok) co_return ok.error();
  }
  auto cert_key = Key::generate();
  if (!cert_key) co_return cert_key.error();
  auto csr = cert_key->csr(host);
  if (!csr) co_return csr.error();
  auto finalized = co_await post(json_string(order, "finalize"), finalize_request(*csr));
  if (!finalized) co_return finalized.error();
  if (finalized->status != 200) co_return Error::unavailable(fmt::format("ACME finalize: {}", problem(*finalized)));
  auto final_order = co_await poll(order_url);
  if (!final_order) co_return final_order.error();
  const std::string cert_url = json_string(*final_order, "certificate");
  if (json_string(*final_order, "status") != "valid" || cert_url.empty()) {
    co_return Error::unavailable(fmt::format("ACME: order ended {}", json_string(*final_order, "status")));
  }
  auto cert = co_await post(cert_url, "");
  if (!cert) co_return cert.error();
  if (cert->status != 200) co_return Error::unavailable(fmt::format("ACME certificate: {}", problem(*cert)));
  const auto expiry = certificate_expiry(cert->body);
  if (!expiry) co_return Error::unavailable("ACME: the certificate does not parse");
  Issued issued;
  issued.host = host;
  issued.cert_pem = cert->body;
  issued.key_pem = cert_key->pem();
  issued.not_after = *expiry;
  co_return issued;
}

}  // namespace prisn::acme::detail
