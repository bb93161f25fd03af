// SPDX-License-Identifier: MIT
#include "proxy/hpack.hpp"

#include <gtest/gtest.h>

namespace prisn::proxy::detail::hpack {
namespace {

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

std::vector<Header> decode(Decoder& d, std::string_view hex) {
  std::vector<Header> out;
  EXPECT_TRUE(d.decode(from_hex(hex), out)) << hex;
  return out;
}

const std::vector<Header> kFirst = {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":authority", "www.example.com"}};

TEST(HpackTest, IntegersAsRfc7541AppendixC1) {
  std::string out;
  encode_integer(out, 10, 5, 0);
  EXPECT_EQ(out, from_hex("0a"));
  out.clear();
  encode_integer(out, 1337, 5, 0);
  EXPECT_EQ(out, from_hex("1f9a0a"));
  out.clear();
  encode_integer(out, 42, 8, 0);
  EXPECT_EQ(out, from_hex("2a"));
}

// RFC 7541 C.3: three requests on one connection, the dynamic table carrying over.
TEST(HpackTest, RequestsWithoutHuffmanShareTheDynamicTable) {
  Decoder d;
  EXPECT_EQ(decode(d, "828684410f7777772e6578616d706c652e636f6d"), kFirst);
  EXPECT_EQ(d.table_size(), 57u);
  auto second = kFirst;
  second.push_back({"cache-control", "no-cache"});
  EXPECT_EQ(decode(d, "828684be58086e6f2d6361636865"), second);
  EXPECT_EQ(d.table_size(), 110u);
  const std::vector<Header> third = {{":method", "GET"}, {":scheme", "https"}, {":path", "/index.html"},
                                     {":authority", "www.example.com"}, {"custom-key", "custom-value"}};
  EXPECT_EQ(decode(d, "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565"), third);
  EXPECT_EQ(d.table_size(), 164u);
}

// RFC 7541 C.4: the same requests, Huffman-coded.
TEST(HpackTest, RequestsWithHuffman) {
  Decoder d;
  EXPECT_EQ(decode(d, "828684418cf1e3c2e5f23a6ba0ab90f4ff"), kFirst);
  auto second = kFirst;
  second.push_back({"cache-control", "no-cache"});
  EXPECT_EQ(decode(d, "828684be5886a8eb10649cbf"), second);
  EXPECT_EQ(decode(d, "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf").back(), (Header{"custom-key", "custom-value"}));
}

TEST(HpackTest, HuffmanRoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  std::string back;
  ASSERT_TRUE(huffman_decode(huffman_encode(all), back));
  EXPECT_EQ(back, all);
  EXPECT_EQ(huffman_encode("www.example.com"), from_hex("f1e3c2e5f23a6ba0ab90f4ff"));
}

TEST(HpackTest, RefusesBadHuffmanPadding) {
  std::string out;
  EXPECT_FALSE(huffman_decode(from_hex("f1e3c2e5f23a6ba0ab90f4fe"), out));  // padding with a zero bit
  out.clear();
  EXPECT_FALSE(huffman_decode(from_hex("ffffffff"), out));  // 32 ones: EOS (30 bits) inside the string
}

TEST(HpackTest, RefusesMalformedBlocks) {
  Decoder d;
  std::vector<Header> out;
  EXPECT_FALSE(d.decode(from_hex("80"), out));          // index 0
  EXPECT_FALSE(d.decode(from_hex("be"), out));          // index 62 with an empty dynamic table
  EXPECT_FALSE(d.decode(from_hex("410f7777"), out));    // a literal longer than the block
  EXPECT_FALSE(d.decode(from_hex("3fe21f"), out));      // a table size above the announced 4096
  EXPECT_FALSE(d.decode(from_hex("8220"), out));        // a table size update after a field
  EXPECT_FALSE(d.decode(from_hex("1fffffffffff0f"), out));  // an index past 32 bits
}

TEST(HpackTest, HeadersPastTheListLimitAreNotKeptButStillIndexed) {
  // One 4000-byte literal put in the table, then a thousand one-byte references to it: 4 MB
  // of headers from 5 KB of block, unless the limit stops the copying.
  std::string block;
  block += '\x40';  // literal with incremental indexing, new name
  encode_integer(block, 3, 7, 0);
  block += "x-a";
  encode_integer(block, 4000, 7, 0);
  block += std::string(4000, 'a');
  block += std::string(1000, '\xbe');  // index 62: the entry just added
  Decoder d(8192);
  std::vector<Header> out;
  ASSERT_TRUE(d.decode(block, out, 65536));
  EXPECT_TRUE(d.last_over_limit());
  EXPECT_LE(out.size(), 16U);
  std::size_t kept = 0;
  for (const auto& h : out) kept += entry_size(h);
  EXPECT_LE(kept, 65536U);
  // the table went on as the encoder's did: the next block can still refer to the entry
  out.clear();
  ASSERT_TRUE(d.decode(std::string(1, '\xbe'), out, 65536));
  EXPECT_FALSE(d.last_over_limit());
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].value.size(), 4000U);
}

TEST(HpackTest, TableSizeUpdateEvicts) {
  Decoder d;
  decode(d, "828684410f7777772e6578616d706c652e636f6d");
  EXPECT_EQ(d.table_size(), 57u);
  std::vector<Header> out;
  ASSERT_TRUE(d.decode(from_hex("20"), out));  // size 0: everything goes
  EXPECT_EQ(d.table_size(), 0u);
  EXPECT_FALSE(d.decode(from_hex("be"), out));
}

TEST(HpackTest, EncoderOutputDecodes) {
  std::string block;
  encode_status(block, 200);
  encode_status(block, 418);
  encode(block, "content-type", "text/plain");
  encode(block, "x-custom", "v");
  EXPECT_EQ(static_cast<unsigned char>(block[0]), 0x88u);  // :status 200 is static index 8
  Decoder d;
  std::vector<Header> out;
  ASSERT_TRUE(d.decode(block, out));
  const std::vector<Header> want = {{":status", "200"}, {":status", "418"}, {"content-type", "text/plain"}, {"x-custom", "v"}};
  EXPECT_EQ(out, want);
  EXPECT_EQ(d.table_size(), 0u);  // never indexed
}

}  // namespace
}  // namespace prisn::proxy::detail::hpack
