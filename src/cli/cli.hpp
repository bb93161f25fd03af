// SPDX-License-Identifier: MIT
// What every CLI command shares: global options, the API client, output helpers.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "prisn/client/http_client.hpp"
#include "prisn/model/json.hpp"

namespace prisn::cli {

using model::Json;

struct Globals {
  std::string server = "http://127.0.0.1:7331";
  std::string token;
  std::string ns = "default";
  bool ns_given = false;  ///< -n was on the command line (else `ns` is the default)
  std::string output = "table";  ///< table | wide | json | yaml
};

/// Ends the command with an exit status after its message was printed (SPEC §5: 1 when
/// the operation failed, 2 for bad usage, or a script's own status).
struct Exit {
  int code;
};

/// Bad usage: printed as "prisn: MESSAGE", exit status 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Cli {
 public:
  explicit Cli(Globals globals);

  const Globals& globals() const { return globals_; }
  client::HttpClient& http();

  /// Calls the API; on a non-2xx answer prints the API's error message (after `context`, when
  /// given: "FILE: ") and throws Exit{1}.
  Json call(const std::string& method, const std::string& target, const std::optional<Json>& body = std::nullopt,
            const std::string& context = "");
  /// Like call(), for answers that are not JSON (YAML manifests): the body as it came.
  std::string call_text(const std::string& method, const std::string& target);
  /// Like call(), but returns nullopt on 404 instead of failing.
  std::optional<Json> find(const std::string& target);
  /// "?namespace=NS" (or "&namespace=NS" when `more`).
  std::string ns_query(bool more = false) const;

  bool structured_output() const { return globals_.output == "json" || globals_.output == "yaml"; }
  bool wide() const { return globals_.output == "wide"; }
  /// Prints a JSON value as -o json or -o yaml asks.
  void print_structured(const Json& value) const;
  /// What a command did: `result` with -o json|yaml, else the line `text` (newline added).
  void report(const Json& result, const std::string& text) const;

  /// Prints "prisn: MESSAGE" on stderr and throws Exit{1}.
  [[noreturn]] static void fail(const std::string& message);
  /// fail() with the API's error message (after `context`) unless `response` is a 2xx.
  void fail_unless_ok(const client::HttpResponse& response, const std::string& context = "") const;
  /// fail() unless `response` carries a JSON object or array, as every prisnd API answer does.
  void fail_unless_json(const client::HttpResponse& response) const;
  /// "the server at URL did not answer as prisnd does (WHAT): ...".
  std::string not_prisnd(const std::string& what) const;

 private:
  Globals globals_;
  std::optional<client::HttpClient> http_;
};

}  // namespace prisn::cli
