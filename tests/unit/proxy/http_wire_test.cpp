// SPDX-License-Identifier: MIT
#include "proxy/http_wire.hpp"

#include <gtest/gtest.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <sstream>

namespace prisn::proxy::detail {
namespace {

namespace beast = boost::beast;

// What Beast's own serializer writes for the same header: the reference.
template <bool isRequest>
std::string beast_header(const http::header<isRequest>& h) {
  std::ostringstream out;
  out << h;
  return out.str();
}

TEST(HttpWire, RequestHeaderMatchesBeast) {
  http::request_header<> req;
  req.method(http::verb::post);
  req.target("/v1/items?q=a%20b");
  req.version(11);
  req.set(http::field::host, "api.example");
  req.set("X-Forwarded-For", "10.0.0.1, 127.0.0.1");
  req.insert(http::field::cookie, "a=1");
  req.insert(http::field::cookie, "b=2");
  std::string out;
  append_header(out, req);
  EXPECT_EQ(out, beast_header(req));
  EXPECT_TRUE(out.starts_with("POST /v1/items?q=a%20b HTTP/1.1\r\n"));
  EXPECT_TRUE(out.ends_with("\r\n\r\n"));
}

TEST(HttpWire, CustomMethodIsWrittenAsReceived) {
  http::request_header<> req;
  req.method_string("PURGE");
  req.target("/");
  req.version(10);
  std::string out;
  append_header(out, req);
  EXPECT_EQ(out, "PURGE / HTTP/1.0\r\n\r\n");
}

TEST(HttpWire, ResponseKeepsItsReasonOrGetsTheStandardOne) {
  http::response_header<> res;
  res.result(http::status::not_found);
  res.version(11);
  res.set(http::field::content_length, "0");
  std::string standard;
  append_header(standard, res);
  EXPECT_EQ(standard, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(standard, beast_header(res));

  res.reason("Nope");
  res.result(299);
  std::string own;
  append_header(own, res);
  EXPECT_EQ(own, "HTTP/1.1 299 Nope\r\nContent-Length: 0\r\n\r\n");
}

TEST(HttpWire, ChunkSizeIsLowercaseHex) {
  std::string out;
  append_chunk_size(out, 0x1a2b);
  append_chunk_size(out, 1);
  EXPECT_EQ(out, "1a2b\r\n1\r\n");
}

TEST(HttpWire, ChunkTails) {
  EXPECT_EQ(chunk_tail(true, false), "\r\n");
  EXPECT_EQ(chunk_tail(true, true), "\r\n0\r\n\r\n");
  EXPECT_EQ(chunk_tail(false, true), "0\r\n\r\n");
  EXPECT_EQ(chunk_tail(false, false), "");
}

TEST(HttpWire, ChunkedBodyParsesBack) {
  http::response_header<> res;
  res.version(11);
  res.result(http::status::ok);
  res.set(http::field::transfer_encoding, "chunked");
  std::string wire;
  append_header(wire, res);
  const std::string pieces[] = {"hello, ", std::string(70000, 'x'), "!"};
  for (std::size_t i = 0; i < std::size(pieces); ++i) {
    append_chunk_size(wire, pieces[i].size());
    wire += pieces[i];
    wire += chunk_tail(true, i + 1 == std::size(pieces));
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  beast::error_code ec;
  std::string_view rest = wire;
  while (!rest.empty() && !parser.is_done()) {  // put() takes the header, then a chunk at a time
    const auto used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_GT(used, 0u);
    rest.remove_prefix(used);
  }
  ASSERT_TRUE(parser.is_done());
  EXPECT_TRUE(rest.empty());
  EXPECT_EQ(parser.get().body(), pieces[0] + pieces[1] + pieces[2]);
}

}  // namespace
}  // namespace prisn::proxy::detail
