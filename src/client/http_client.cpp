// SPDX-License-Identifier: MIT
#include "prisn/client/http_client.hpp"

#include <boost/algorithm/string/split.hpp>
#include <boost/algorithm/string/trim.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace prisn::client {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

// How long a request (not a followed stream) may take: a prisnd that accepts and never answers
// (stopped, wedged) must not hold the CLI for good. Every API call answers at once; the
// slowest (apply of a large manifest) take well under a second.
constexpr auto kRequestTimeout = std::chrono::seconds(30);

}  // namespace

struct HttpClient::Impl {
  std::string server;
  std::string host;
  std::string port;
  std::string token;
  asio::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  Result<void> connect() {
    if (stream && stream->socket().is_open()) {
      return {};
    }
    boost::system::error_code ec;
    tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(host, port, ec);
    if (ec) {
      return Error::unavailable(fmt::format("cannot reach prisnd at {}: {}", server, ec.message()));
    }
    stream.emplace(io);
    stream->connect(endpoints, ec);
    if (ec) {
      stream.reset();
      return Error::unavailable(fmt::format("cannot reach prisnd at {}: {} (is prisnd running? "
                                            "set --server or PRISN_SERVER)", server, ec.message()));
    }
    stream->socket().set_option(tcp::no_delay(true), ec);
    buffer.clear();
    return {};
  }

  http::request<http::string_body> make(const std::string& method, const std::string& target,
                                        const std::optional<std::string>& body) {
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, host + ":" + port);
    req.set(http::field::user_agent, "prisn-cli/" PRISN_VERSION);
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (body) {
      req.set(http::field::content_type, "application/json");
      req.body() = *body;
    }
    req.keep_alive(true);
    req.prepare_payload();
    return req;
  }

  void drop() {
    boost::system::error_code ec;
    if (stream) stream->socket().close(ec);
    stream.reset();
  }
};

Result<HttpClient> HttpClient::create(const std::string& server, std::string token) {
  auto impl = std::make_unique<Impl>();
  impl->server = server;
  std::string rest = server;
  if (rest.starts_with("http://")) {
    rest = rest.substr(7);
  } else if (rest.find("://") != std::string::npos) {
    return Error::invalid(fmt::format("--server {}: only http:// is supported", server));
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos) {
    return Error::invalid(fmt::format("--server {}: expected http://HOST:PORT", server));
  }
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos) return Error::invalid(fmt::format("--server {}: bad IPv6 address", server));
    impl->host = rest.substr(1, close - 1);
    impl->port = close + 2 <= rest.size() ? rest.substr(close + 2) : "7331";
  } else {
    const auto colon = rest.rfind(':');
    impl->host = colon == std::string::npos ? rest : rest.substr(0, colon);
    impl->port = colon == std::string::npos ? "7331" : rest.substr(colon + 1);
  }
  if (impl->host.empty() || impl->port.empty()) {
    return Error::invalid(fmt::format("--server {}: expected http://HOST:PORT", server));
  }
  const bool digits = impl->port.size() <= 5 && std::all_of(impl->port.begin(), impl->port.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
  if (!digits || std::stoi(impl->port) < 1 || std::stoi(impl->port) > 65535) {
    return Error::invalid(fmt::format("--server {}: the port must be a number from 1 to 65535", server));
  }
  impl->token = std::move(token);
  return HttpClient(std::move(impl));
}

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;
HttpClient::~HttpClient() = default;

const std::string& HttpClient::server() const { return impl_->server; }

Result<HttpResponse> HttpClient::request(const std::string& method, const std::string& target,
                                         std::optional<std::string> body) {
  // One retry: a kept-alive connection the server has since closed fails on first use.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = impl_->stream.has_value();
    if (auto ok = impl_->connect(); !ok) return ok.error();
    auto req = impl_->make(method, target, body);
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    // Asynchronous, so that the stream's deadline holds: Beast's timeouts do not apply to
    // blocking calls.
    boost::system::error_code ec;
    impl_->stream->expires_after(kRequestTimeout);
    http::async_write(*impl_->stream, req, [&](boost::system::error_code write_ec, std::size_t) {
      ec = write_ec;
      // prisnd may answer before it has read the whole body (413 for one over its limit) and
      // close: the rest of the write then fails, but its answer is there to read.
      if (ec && ec != asio::error::broken_pipe && ec != asio::error::connection_reset) return;
      http::async_read(*impl_->stream, impl_->buffer, parser, [&, write_ec](boost::system::error_code read_ec, std::size_t) {
        ec = write_ec && (!read_ec || parser.is_done()) ? boost::system::error_code() : (read_ec ? read_ec : write_ec);
      });
    });
    impl_->io.restart();
    impl_->io.run();
    if (ec == beast::error::timeout) {
      impl_->drop();
      return Error::unavailable(fmt::format("prisnd at {} did not answer within {} s (is it stopped or overloaded?)",
                                            impl_->server, kRequestTimeout.count()));
    }
    if (ec) {
      impl_->drop();
      if (reused && attempt == 0) continue;
      return Error::unavailable(fmt::format("connection to prisnd at {} failed: {}", impl_->server, ec.message()));
    }
    impl_->stream->expires_never();
    const auto& res = parser.get();
    HttpResponse out{static_cast<int>(res.result_int()), res.body(), std::string(res[http::field::content_type])};
    if (!res.keep_alive()) impl_->drop();
    return out;
  }
  return Error::unavailable("unreachable");
}

Result<HttpResponse> HttpClient::stream(const std::string& method, const std::string& target,
                                        const std::function<bool(std::string_view)>& on_data) {
  impl_->drop();  // a fresh connection: a streamed answer may end by closing it
  if (auto ok = impl_->connect(); !ok) return ok.error();
  auto req = impl_->make(method, target, std::nullopt);
  boost::system::error_code ec;
  http::write(*impl_->stream, req, ec);
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (!ec) http::read_header(*impl_->stream, impl_->buffer, parser, ec);
  if (ec) {
    impl_->drop();
    return Error::unavailable(fmt::format("connection to prisnd at {} failed: {}", impl_->server, ec.message()));
  }
  HttpResponse out;
  out.status = static_cast<int>(parser.get().result_int());
  out.content_type = std::string(parser.get()[http::field::content_type]);
  const bool ok_status = out.status >= 200 && out.status < 300;
  char buf[16384];
  bool keep_going = true;
  while (!parser.is_done()) {
    parser.get().body().data = buf;
    parser.get().body().size = sizeof buf;
    // read_some returns as soon as some body arrived: followed output is shown live.
    http::read_some(*impl_->stream, impl_->buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    const std::size_t n = sizeof buf - parser.get().body().size;
    if (n > 0) {
      if (ok_status) {
        keep_going = on_data(std::string_view(buf, n));
      } else {
        out.body.append(buf, n);
      }
    }
    if (ec || !keep_going) break;
  }
  impl_->drop();
  if (ec && ec != http::error::end_of_stream && ec != asio::error::eof) {
    return Error::unavailable(fmt::format("connection to prisnd at {} broke: {}", impl_->server, ec.message()));
  }
  if (parser.is_done()) {
    // The parser adds trailer fields to the header's; only the announced ones are trailers.
    const auto& res = parser.get();
    std::vector<std::string> names;
    boost::algorithm::split(names, res[http::field::trailer], [](char c) { return c == ','; });
    for (auto& name : names) {
      boost::algorithm::trim(name);
      if (const auto value = res[name]; !name.empty() && !value.empty()) out.trailers[name] = std::string(value);
    }
  }
  return out;
}

std::string url_encode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace prisn::client
