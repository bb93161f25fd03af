// SPDX-License-Identifier: MIT
#include "proxy/h2_request.hpp"

#include <gtest/gtest.h>

namespace prisn::proxy::detail::h2 {
namespace {

using Block = std::vector<hpack::Header>;

Block base() { return {{":method", "GET"}, {":scheme", "https"}, {":authority", "api.test"}, {":path", "/a?b=1"}}; }

TEST(H2RequestTest, PseudoHeadersBecomeTheRequestLineAndHost) {
  auto block = base();
  block.push_back({"accept", "*/*"});
  block.push_back({"cookie", "a=1"});
  block.push_back({"cookie", "prisn_affinity=x"});
  http::request_header<> req;
  ASSERT_EQ(to_http1(block, req), "");
  EXPECT_EQ(req.method(), http::verb::get);
  EXPECT_EQ(req.target(), "/a?b=1");
  EXPECT_EQ(req.version(), 11u);
  EXPECT_EQ(req[http::field::host], "api.test");
  EXPECT_EQ(req[http::field::accept], "*/*");
  EXPECT_EQ(req[http::field::cookie], "a=1; prisn_affinity=x");  // RFC 9113 §8.2.3
}

TEST(H2RequestTest, HostHeaderServesWithoutAuthority) {
  Block block = {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"host", "h.test"}};
  http::request_header<> req;
  ASSERT_EQ(to_http1(block, req), "");
  EXPECT_EQ(req[http::field::host], "h.test");
}

TEST(H2RequestTest, MalformedBlocksAreRefused) {
  const std::vector<std::pair<Block, std::string>> cases = {
      {{{":method", "GET"}, {":scheme", "http"}}, "missing :path"},
      {{{":scheme", "http"}, {":path", "/"}}, "missing :method"},
      {{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":path", "/again"}}, "more than one :path"},
      {{{":method", "GET"}, {":scheme", "http"}, {"accept", "x"}, {":path", "/"}}, "pseudo-header :path after the regular fields"},
      {{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":status", "200"}}, "unknown pseudo-header :status"},
      {{{":method", "CONNECT"}, {":authority", "x:443"}}, "CONNECT is not supported"},
  };
  for (const auto& [block, why] : cases) {
    http::request_header<> req;
    EXPECT_EQ(to_http1(block, req), why);
  }
  // Each of these would change what an HTTP/1.1 instance reads.
  const std::vector<hpack::Header> bad = {
      {"Accept", "x"},                       // upper case
      {"x-a", "1\r\nx-injected: 1"},         // CR LF in a value
      {"x-a", std::string("1\0", 2)},        // NUL
      {"x-a", " padded"},                    // white space at an end
      {"connection", "close"},               // connection-specific
      {"transfer-encoding", "chunked"},
      {"te", "gzip"},
      {"bad name", "1"},
      {"content-length", "1x"},
      {"content-length", ""},
  };
  for (const auto& h : bad) {
    auto block = base();
    block.push_back(h);
    http::request_header<> req;
    EXPECT_NE(to_http1(block, req), "") << h.name;
  }
  auto twice = base();
  twice.push_back({"content-length", "1"});
  twice.push_back({"content-length", "1"});
  http::request_header<> req;
  EXPECT_EQ(to_http1(twice, req), "more than one content-length");
  for (const std::string path : {"/a b", "/a\tb", "a", ""}) {
    Block block = {{":method", "GET"}, {":scheme", "http"}, {":path", path}};
    http::request_header<> req;
    EXPECT_NE(to_http1(block, req), "") << path;
  }
}

TEST(H2RequestTest, ResponseBlockIsLowerCaseWithoutHopByHopFields) {
  http::response_header<> res;
  res.result(http::status::created);
  res.set(http::field::content_type, "text/plain");
  res.set(http::field::connection, "keep-alive, X-Private");
  res.set("X-Private", "1");
  res.set(http::field::transfer_encoding, "chunked");
  res.set("X-Kept", "yes");
  std::string block;
  to_block(res, block);
  hpack::Decoder d;
  std::vector<hpack::Header> out;
  ASSERT_TRUE(d.decode(block, out));
  const std::vector<hpack::Header> want = {{":status", "201"}, {"content-type", "text/plain"}, {"x-kept", "yes"}};
  EXPECT_EQ(out, want);
}

}  // namespace
}  // namespace prisn::proxy::detail::h2
