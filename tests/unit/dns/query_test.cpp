// SPDX-License-Identifier: MIT
#include "prisn/dns/query.hpp"

#include <gtest/gtest.h>

#include "support/dns_packets.hpp"

using namespace prisn::dns;
using prisn::test::query_wire;

TEST(DnsQueryHead, ReadsQuestionLowercasedAndEdns) {
  const auto wire = query_wire("API.default.prisn.local", type::kSrv, true, 4096, 0xABCD);
  QueryHead h;
  ASSERT_EQ(parse_query_head(wire, h), QueryStatus::kOk);
  EXPECT_EQ(h.id, 0xABCD);
  EXPECT_EQ(h.qtype, type::kSrv);
  EXPECT_EQ(h.qclass, kClassIn);
  EXPECT_EQ(h.lower_name(), std::string_view("\3api\7default\5prisn\5local"));
  EXPECT_TRUE(h.edns);
  EXPECT_EQ(h.udp_size, 4096);
  EXPECT_TRUE(h.rd());
}

TEST(DnsQueryHead, AgreesWithTheFullParserOnEveryPrefix) {
  const auto wire = query_wire("api.default.prisn.local", type::kA, true);
  for (std::size_t n = 0; n <= wire.size(); ++n) {
    QueryHead h;
    const auto status = parse_query_head(std::span(wire.data(), n), h);
    const bool full = static_cast<bool>(parse(std::span(wire.data(), n)));
    if (n < 12) {
      EXPECT_EQ(status, QueryStatus::kDrop);
    } else {
      EXPECT_EQ(status == QueryStatus::kOk, full) << "length " << n;
    }
  }
}

TEST(DnsQueryHead, RejectsCompressedQuestionAndExtraRecords) {
  std::vector<std::uint8_t> wire{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0, 0, 1, 0, 1};
  QueryHead h;
  EXPECT_EQ(parse_query_head(wire, h), QueryStatus::kFormErr);
  auto with_answer = query_wire("a.prisn.local");
  with_answer[7] = 1;
  EXPECT_EQ(parse_query_head(with_answer, h), QueryStatus::kFormErr);
}
