// SPDX-License-Identifier: MIT
#include "acme/https_client.hpp"

#include <fmt/format.h>
#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace prisn::acme::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::seconds kTimeout{20};

namespace {

struct Url {
  bool tls = true;
  std::string host;
  std::string port;
  std::string target;
};

Result<Url> parse_url(const std::string& url) {
  Url u;
  std::string rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    u.tls = false;
    rest = url.substr(7);
  } else {
    return Error::invalid(fmt::format("'{}' is not an http(s) URL", url));
  }
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  const auto colon = authority.rfind(':');
  u.host = authority.substr(0, colon);
  u.port = colon == std::string::npos ? (u.tls ? "443" : "80") : authority.substr(colon + 1);
  if (u.host.empty()) return Error::invalid(fmt::format("'{}' has no host", url));
  return u;
}

template <class Stream>
asio::awaitable<Result<HttpReply>> exchange(Stream& stream, const Url& u, const std::string& method, std::string body,
                                            const std::string& content_type) {
  http::request<http::string_body> req{http::string_to_verb(method), u.target, 11};
  const bool default_port = (u.tls && u.port == "443") || (!u.tls && u.port == "80");
  req.set(http::field::host, default_port ? u.host : u.host + ":" + u.port);  // servers build URLs from it
  req.set(http::field::user_agent, "prisn-acme/1");
  req.set(http::field::connection, "close");
  if (!content_type.empty()) req.set(http::field::content_type, content_type);
  req.body() = std::move(body);
  req.prepare_payload();
  beast::get_lowest_layer(stream).expires_after(kTimeout);
  if (auto [ec, n] = co_await http::async_write(stream, req, kNoThrow); ec) {
    co_return Error::unavailable(fmt::format("{}: {}", u.host, ec.message()));
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  if (method == "HEAD") parser.skip(true);
  auto [ec, n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
  if (ec) co_return Error::unavailable(fmt::format("{}: {}", u.host, ec.message()));
  const auto& res = parser.get();
  HttpReply out;
  out.status = static_cast<int>(res.result_int());
  out.body = res.body();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  co_return out;
}

}  // namespace

asio::awaitable<Result<HttpReply>> fetch(asio::any_io_executor ex, asio::ssl::context& tls, std::string method,
                                         std::string url, std::string body, std::string content_type) {
  auto u = parse_url(url);
  if (!u) co_return u.error();
  tcp::resolver resolver(ex);
  auto [rec, endpoints] = co_await resolver.async_resolve(u->host, u->port, kNoThrow);
  if (rec) co_return Error::unavailable(fmt::format("cannot resolve {}: {}", u->host, rec.message()));
  beast::tcp_stream tcp_stream(ex);
  tcp_stream.expires_after(kTimeout);
  if (auto [cec, ep] = co_await tcp_stream.async_connect(endpoints, kNoThrow); cec) {
    co_return Error::unavailable(fmt::format("cannot connect to {}:{}: {}", u->host, u->port, cec.message()));
  }
  if (!u->tls) co_return co_await exchange(tcp_stream, *u, method, std::move(body), content_type);
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), tls);
  SSL_set_tlsext_host_name(stream.native_handle(), u->host.c_str());
  stream.set_verify_mode(asio::ssl::verify_peer);
  stream.set_verify_callback(asio::ssl::host_name_verification(u->host));
  beast::get_lowest_layer(stream).expires_after(kTimeout);
  if (auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, kNoThrow); hec) {
    co_return Error::unavailable(fmt::format("TLS with {}: {}", u->host, hec.message()));
  }
  auto reply = co_await exchange(stream, *u, method, std::move(body), content_type);
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
  co_await stream.async_shutdown(kNoThrow);
  co_return reply;
}

}  // namespace prisn::acme::detail
