// SPDX-License-Identifier: MIT
#include "api/proxy_routes.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <charconv>

#include "api/handler_util.hpp"
#include "api/handlers.hpp"
#include "prisn/proxy/route_table.hpp"

namespace prisn::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using model::Json;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::seconds kTraceTimeout{5};

// "api.default.prisn.local:8080/health" → host, port (0 when the target has none), path.
Result<std::tuple<std::string, std::uint16_t, std::string>> parse_target(std::string target, std::string path) {
  if (target.starts_with("http://")) target = target.substr(7);
  if (const auto slash = target.find('/'); slash != std::string::npos) {
    if (path.empty()) path = target.substr(slash);
    target = target.substr(0, slash);
  }
  if (path.empty()) path = "/";
  std::uint16_t port = 0;
  if (const auto colon = target.rfind(':'); colon != std::string::npos && !target.ends_with(']')) {
    const auto digits = target.substr(colon + 1);
    unsigned value = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc{} || p != digits.data() + digits.size() || value == 0 || value > 65535) {
      return Error::invalid(fmt::format("target: '{}' does not end in a port", target.substr(0, 200)));
    }
    port = static_cast<std::uint16_t>(value);
    target = target.substr(0, colon);
  }
  if (target.empty()) return Error::invalid("target: a host is required (api.default.prisn.local:8080)");
  const bool bracketed = target.starts_with('[') && target.ends_with(']');
  if ((target.find_first_of(":[]") != std::string::npos && !bracketed) || !proxy::is_valid_authority(target)) {
    return Error::invalid(fmt::format("target: '{}' is not HOST:PORT (an IPv6 address goes in brackets: [::1]:8080)",
                                      target.substr(0, 200)));
  }
  if (path.front() != '/' || path.find_first_of(" \r\n") != std::string::npos) {
    return Error::invalid("path: must start with '/' and hold no spaces");
  }
  return std::tuple{target, port, path};
}

// Sends GET path to the instance the trace picked and adds what came back.
asio::awaitable<Response> trace_response(asio::any_io_executor ex, Json trace, std::string host_header, std::string path) {
  if (trace["selected"].is_null()) {
    trace["response"] = nullptr;
    if (!trace.contains("error")) trace["error"] = "no healthy instance";  // else why the route fails
    co_return json(200, trace);
  }
  beast::tcp_stream stream(ex);
  const auto started = std::chrono::steady_clock::now();
  // An instance that refuses the connection is passed over for the next, as the proxies do.
  boost::system::error_code cec;
  std::vector<std::string> refused;
  Json candidates = Json::array({trace["selected"]});
  for (const auto& f : trace.value("fallbacks", Json::array())) candidates.push_back(f);
  for (const auto& candidate : candidates) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(candidate["host"].get<std::string>(), ec);
    stream.expires_at(started + kTraceTimeout);  // one limit for the whole trace
    std::tie(cec) = co_await stream.async_connect(asio::ip::tcp::endpoint(address, candidate["port"].get<std::uint16_t>()),
                                                   kNoThrow);
    if (cec != asio::error::connection_refused) {
      if (!refused.empty()) {
        Json chosen = candidate;
        chosen["algorithm"] = trace["selected"]["algorithm"];
        chosen["reason"] = fmt::format("{}; {} refused the connection, so the next instance, as the proxy does",
                                       trace["selected"].value("reason", ""), fmt::join(refused, " and "));
        trace["selected"] = chosen;
      }
      break;
    }
    refused.push_back(candidate.value("address", ""));
    stream.close();
  }
  const auto& sel = trace["selected"];
  const bool connected = !cec;
  if (!cec) {
    http::request<http::empty_body> req{http::verb::get, path, 11};
    req.set(http::field::host, host_header);
    req.set(http::field::user_agent, "prisn-trace/1");
    req.set(http::field::connection, "close");
    if (auto [wec, n] = co_await http::async_write(stream, req, kNoThrow); wec) cec = wec;
  }
  http::response_parser<http::empty_body> parser;
  beast::flat_buffer buffer;
  if (!cec) {
    auto [rec, n] = co_await http::async_read_header(stream, buffer, parser, kNoThrow);
    cec = rec;
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (cec && connected && trace.value("via", "") != "ingress") {
    // A port the L4 proxy carries need not speak HTTP (a database, a custom protocol): that
    // the instance took the connection is the answer.
    const std::string what = cec == beast::error::timeout          ? "no answer to an HTTP request within 5 s"
                             : cec == http::error::end_of_stream ||
                                       cec == asio::error::eof      ? "it closed without an HTTP answer"
                                                                   : "the answer is not HTTP";
    trace["response"] = {{"status", nullptr}, {"reason", "connected; " + what}};
  } else if (cec == asio::error::connection_refused && refused.size() > 1) {
    trace["response"] = nullptr;
    trace["error"] = fmt::format("every instance refused the connection ({})", fmt::join(refused, ", "));
  } else if (cec) {
    trace["response"] = nullptr;
    trace["error"] = fmt::format("{}: {}", sel["address"].get<std::string>(), cec.message());
  } else {
    const auto& res = parser.get();
    trace["response"] = {{"status", res.result_int()}, {"reason", std::string(res.reason())}};
  }
  trace["latency_ms"] = ms;
  co_return json(200, trace);
}

}  // namespace

void add_proxy_routes(Router& r, control::Controller& ctl, asio::any_io_executor executor) {
  r.add("GET", "/api/v1/proxy/stats", [&ctl](const Request& req, const Params&) {
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    return json(200, ctl.proxy_stats(*ns));
  });
  r.add("POST", "/api/v1/proxy/trace", [&ctl, executor](const Request& req, const Params&) {
    auto body = body_json(req);
    if (!body) return error(body.error());
    if (!body->is_object()) return error(Error::invalid("body: must be {\"target\": \"HOST:PORT\", \"path\": \"/\"}"));
    model::ObjectReader reader(*body, "");
    auto target = reader.string("target");
    if (!target) return error(target.error());
    if (target->empty()) return error(Error::invalid("target is required (\"api.default.prisn.local:8080\")"));
    auto path = reader.string("path");
    if (!path) return error(path.error());
    if (auto done = reader.finish(); !done) return error(done.error());
    auto parsed = parse_target(*target, *path);
    if (!parsed) return error(parsed.error());
    auto ns = namespace_of(req);
    if (!ns) return error(ns.error());
    auto [host, port, p] = *parsed;
    auto trace = ctl.trace(host, port, p, *ns);
    if (!trace) return error(trace.error());
    Response out;
    auto host_header = port == 0 ? host : host + ":" + std::to_string(port);
    out.deferred = [executor, t = std::move(*trace), h = std::move(host_header), p]() {
      return trace_response(executor, t, h, p);
    };
    return out;
  });
}

}  // namespace prisn::api
