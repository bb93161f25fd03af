// SPDX-License-Identifier: MIT
#include "cli/cli.hpp"

#include <fmt/format.h>

#include <iostream>

#include "prisn/model/yaml.hpp"

namespace prisn::cli {

Cli::Cli(Globals globals) : globals_(std::move(globals)) {}

client::HttpClient& Cli::http() {
  if (!http_) {
    auto created = client::HttpClient::create(globals_.server, globals_.token);
    if (!created) {
      throw UsageError(created.error().message);
    }
    http_.emplace(std::move(*created));
  }
  return *http_;
}

void Cli::fail(const std::string& message) {
  std::cerr << "prisn: " << message << "\n";
  throw Exit{1};
}

namespace {

// "HTTP 404, text/html": what answered, for a message saying it was not prisnd.
std::string what_came(const client::HttpResponse& r) {
  return fmt::format("HTTP {}, {}", r.status, r.content_type.empty() ? "no Content-Type" : r.content_type);
}

// The message of prisnd's error object, or nullopt for an answer that is not one.
std::optional<std::string> api_error_message(const client::HttpResponse& r) {
  Json body = Json::parse(r.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_object() &&
      body["error"].contains("message") && body["error"]["message"].is_string()) {
    return body["error"]["message"].get<std::string>();
  }
  return std::nullopt;
}

}  // namespace

void Cli::fail_unless_json(const client::HttpResponse& response) const {
  // Something else on that address (a workload's port, a typo) must not pass for prisnd: a
  // write it "accepted" did not happen.
  if (response.content_type.starts_with("application/json")) {
    const Json parsed = Json::parse(response.body, nullptr, false);
    if (parsed.is_object() || parsed.is_array()) return;
  }
  fail(not_prisnd(what_came(response)));
}

std::string Cli::not_prisnd(const std::string& what) const {
  return fmt::format("the server at {} did not answer as prisnd does ({}): is --server (or PRISN_SERVER) prisnd's API?",
                     globals_.server, what);
}

void Cli::fail_unless_ok(const client::HttpResponse& response, const std::string& context) const {
  if (response.status >= 200 && response.status < 300) return;
  auto message = api_error_message(response);
  // prisnd's errors are {"error": {...}}; an HTML 404 is some other server's.
  if (!message) fail(not_prisnd(what_came(response)));
  // The server speaks of an HTTP header; the CLI's user gives the token otherwise.
  if (response.status == 401) *message += "; give prisn the token with --token or PRISN_TOKEN";
  fail(context + *message);
}

Json Cli::call(const std::string& method, const std::string& target, const std::optional<Json>& body,
               const std::string& context) {
  auto r = http().request(method, target,
                          body ? std::optional<std::string>(body->dump(-1, ' ', false, Json::error_handler_t::replace))
                               : std::nullopt);
  if (!r) {
    fail(r.error().message);
  }
  fail_unless_ok(*r, context);
  fail_unless_json(*r);
  return Json::parse(r->body);
}

std::string Cli::call_text(const std::string& method, const std::string& target) {
  auto r = http().request(method, target);
  if (!r) fail(r.error().message);
  fail_unless_ok(*r);
  return std::move(r->body);
}

std::optional<Json> Cli::find(const std::string& target) {
  auto r = http().request("GET", target);
  if (!r) {
    fail(r.error().message);
  }
  if (r->status == 404) {
    return std::nullopt;
  }
  fail_unless_ok(*r);
  fail_unless_json(*r);
  return Json::parse(r->body);
}

std::string Cli::ns_query(bool more) const {
  return std::string(more ? "&" : "?") + "namespace=" + client::url_encode(globals_.ns);
}

void Cli::report(const Json& result, const std::string& text) const {
  if (structured_output()) print_structured(result);
  else std::cout << text << "\n";
}

void Cli::print_structured(const Json& value) const {
  if (globals_.output == "yaml") {
    std::cout << model::to_yaml(value, model::YamlStrings::kReadable);
  } else {
    std::cout << value.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
  }
}

}  // namespace prisn::cli
