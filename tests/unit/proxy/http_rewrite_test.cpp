// SPDX-License-Identifier: MIT
#include "proxy/http_rewrite.hpp"

#include <gtest/gtest.h>

namespace prisn::proxy::detail {
namespace {

namespace http = boost::beast::http;

http::request_header<> request(std::initializer_list<std::pair<std::string, std::string>> fields) {
  http::request_header<> req;
  req.method(http::verb::get);
  req.target("/x");
  req.version(11);
  for (const auto& [name, value] : fields) req.insert(name, value);
  return req;
}

TEST(HttpRewrite, StripsHopByHopHeadersAndThoseConnectionNames) {
  auto req = request({{"Host", "api.example.com"},
                      {"Connection", "keep-alive, X-Secret , Transfer-Encoding"},
                      {"Keep-Alive", "timeout=5"},
                      {"X-Secret", "1"},
                      {"x-secret", "2"},
                      {"Proxy-Connection", "keep-alive"},
                      {"Proxy-Authorization", "Basic Zm9vOmJhcg=="},
                      {"TE", "trailers"},
                      {"Trailer", "X-Checksum"},
                      {"Upgrade", "websocket"},
                      {"Transfer-Encoding", "chunked"},
                      {"X-Kept", "yes"}});
  strip_hop_by_hop(req);
  std::vector<std::string> left;
  for (const auto& f : req) left.emplace_back(f.name_string());
  // Transfer-Encoding stays even when Connection names it: the router re-frames the body.
  EXPECT_EQ(left, (std::vector<std::string>{"Host", "Transfer-Encoding", "X-Kept"}));
}

TEST(HttpRewrite, ConnectionCannotNameAwayTheFramingOrTheHost) {
  // Dropping Content-Length but forwarding the body would let the instance read the body as
  // a second request (smuggling); a request without Host is one RFC 9112 says to refuse.
  auto req = request({{"Host", "api.example.com"},
                      {"Connection", "Content-Length, Host, keep-alive"},
                      {"Content-Length", "40"}});
  strip_hop_by_hop(req);
  std::vector<std::string> left;
  for (const auto& f : req) left.emplace_back(f.name_string());
  EXPECT_EQ(left, (std::vector<std::string>{"Host", "Content-Length"}));
}

TEST(HttpRewrite, WithoutAConnectionHeaderStripsOnlyTheFixedSet) {
  auto req = request({{"Host", "a"}, {"Accept", "*/*"}, {"Proxy-Authenticate", "Basic"}});
  strip_hop_by_hop(req);
  EXPECT_EQ(req.count(http::field::host), 1U);
  EXPECT_EQ(req.count(http::field::accept), 1U);
  EXPECT_EQ(req.count(http::field::proxy_authenticate), 0U);
}

TEST(HttpRewrite, UpstreamRequestGetsForwardedHeadersAndNoExpect) {
  auto req = request({{"Host", "api.example.com"}, {"X-Forwarded-For", "203.0.113.9"}, {"Expect", "100-continue"}});
  req.version(10);
  prepare_upstream_request(req, ForwardInfo{"127.0.0.1", true, false});
  EXPECT_EQ(req.version(), 11U);
  EXPECT_EQ(req["X-Forwarded-For"], "203.0.113.9, 127.0.0.1");
  EXPECT_EQ(req["X-Forwarded-Proto"], "https");
  EXPECT_EQ(req["X-Forwarded-Host"], "api.example.com");
  EXPECT_EQ(req.count(http::field::expect), 0U);
  EXPECT_EQ(req.count(http::field::connection), 0U);  // HTTP/1.1: kept alive by default
}

TEST(HttpRewrite, RepeatedForwardedForLinesAreOneList) {
  auto req = request({{"Host", "a"}, {"X-Forwarded-For", "1.1.1.1"}, {"X-Forwarded-For", "2.2.2.2, 3.3.3.3"}});
  prepare_upstream_request(req, ForwardInfo{"127.0.0.1", false, false});
  EXPECT_EQ(req.count("X-Forwarded-For"), 1U);
  EXPECT_EQ(req["X-Forwarded-For"], "1.1.1.1, 2.2.2.2, 3.3.3.3, 127.0.0.1");
}

TEST(HttpRewrite, ForwardedHostAndProtoAreTheRoutersNotTheClients) {
  auto req = request({{"Host", "api.example.com"}, {"X-Forwarded-Host", "evil.example"}, {"X-Forwarded-Proto", "https"}});
  prepare_upstream_request(req, ForwardInfo{"127.0.0.1", false, false});
  EXPECT_EQ(req.count("X-Forwarded-Host"), 1U);
  EXPECT_EQ(req["X-Forwarded-Host"], "api.example.com");
  EXPECT_EQ(req["X-Forwarded-Proto"], "http");
  auto hostless = request({{"X-Forwarded-Host", "evil.example"}});  // HTTP/1.0 without Host
  prepare_upstream_request(hostless, ForwardInfo{"127.0.0.1", false, false});
  EXPECT_EQ(hostless.count("X-Forwarded-Host"), 0U);
}

TEST(HttpRewrite, UpgradeSurvivesOnlyForAnUpgradeRequest) {
  const auto original = request({{"Host", "ws"}, {"Connection", "Upgrade"}, {"Upgrade", "websocket"}});
  EXPECT_TRUE(is_upgrade(original));
  auto plain = original;
  prepare_upstream_request(plain, ForwardInfo{"127.0.0.1", false, false});
  EXPECT_EQ(plain.count(http::field::upgrade), 0U);
  auto upgrade = original;
  prepare_upstream_request(upgrade, ForwardInfo{"127.0.0.1", false, true});
  EXPECT_EQ(upgrade[http::field::upgrade], "websocket");
  EXPECT_EQ(upgrade[http::field::connection], "upgrade");
  EXPECT_EQ(upgrade["X-Forwarded-Proto"], "http");
}

TEST(HttpRewrite, ClientResponseKeepAliveFollowsTheClientsVersion) {
  http::response_header<> res;
  res.result(http::status::ok);
  res.version(11);
  res.insert(http::field::connection, "keep-alive");
  res.insert(http::field::keep_alive, "timeout=5");
  auto for_10 = res;
  prepare_client_response(for_10, 10, true, false);
  EXPECT_EQ(for_10.version(), 10U);
  EXPECT_EQ(for_10[http::field::connection], "keep-alive");
  EXPECT_EQ(for_10.count(http::field::keep_alive), 0U);
  auto closing = res;
  prepare_client_response(closing, 11, false, false);
  EXPECT_EQ(closing[http::field::connection], "close");
  auto kept = res;
  prepare_client_response(kept, 11, true, false);
  EXPECT_EQ(kept.count(http::field::connection), 0U);
}

TEST(HttpRewrite, CookieValueFindsTheNamedCookie) {
  EXPECT_EQ(cookie_value("a=1; prisn_affinity=api-1.99 ;b=2", "prisn_affinity"), "api-1.99");
  EXPECT_EQ(cookie_value("xprisn_affinity=1", "prisn_affinity"), "");
  EXPECT_EQ(cookie_value("", "prisn_affinity"), "");
}

}  // namespace
}  // namespace prisn::proxy::detail
