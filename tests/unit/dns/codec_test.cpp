// SPDX-License-Identifier: MIT
#include "prisn/dns/codec.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace prisn::dns;
using Bytes = std::vector<std::uint8_t>;

namespace {

Name name(const char* text) { return *Name::from_text(text); }

Message sample() {
  Message m;
  m.id = 0xBEEF;
  m.qr = m.aa = m.rd = true;
  m.questions.push_back({name("_http._tcp.api.default.prisn.local"), type::kSrv, kClassIn});
  m.answers.push_back({name("_http._tcp.api.default.prisn.local"), type::kSrv, kClassIn, 5,
                       SrvData{0, 10, 40001, name("api-0.api.default.prisn.local")}});
  m.authority.push_back({name("prisn.local"), type::kSoa, kClassIn, 5,
                         SoaData{name("ns.prisn.local"), name("hostmaster.prisn.local"), 7, 3600, 600, 86400, 5}});
  m.additional.push_back({name("api-0.api.default.prisn.local"), type::kA, kClassIn, 5, AData{{127, 0, 0, 1}}});
  m.additional.push_back({name("x.prisn.local"), type::kAaaa, kClassIn, 5, AaaaData{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}}});
  m.additional.push_back({name("x.prisn.local"), 99, kClassIn, 5, RawData{{1, 2, 3}}});
  m.edns = Edns{.udp_size = 1232, .version = 0, .dnssec_ok = true, .options = {0, 10, 0, 0}};
  return m;
}

Bytes header(std::uint16_t qd, std::uint16_t an, std::uint16_t ns, std::uint16_t ar, std::uint16_t flags = 0) {
  return {0x12, 0x34, static_cast<std::uint8_t>(flags >> 8), static_cast<std::uint8_t>(flags), 0,
          static_cast<std::uint8_t>(qd), 0, static_cast<std::uint8_t>(an), 0, static_cast<std::uint8_t>(ns),
          0, static_cast<std::uint8_t>(ar)};
}

Bytes operator+(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Errc error_of(const Bytes& wire) {
  auto r = parse(wire);
  EXPECT_FALSE(r) << "parsed unexpectedly";
  return r ? Errc{} : static_cast<Errc>(r.error().value());
}

}  // namespace

TEST(DnsCodec, RoundTripsEveryRecordKind) {
  const Message m = sample();
  for (bool compress : {true, false}) {
    Bytes wire;
    ASSERT_TRUE(serialize(m, wire, {.compress = compress}));
    auto back = parse(wire);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, m);
  }
}

TEST(DnsCodec, CompressionShrinksAndNeverTouchesSrvTargets) {
  const Message m = sample();
  Bytes plain, packed;
  serialize(m, plain, {.compress = false});
  serialize(m, packed, {.compress = true});
  EXPECT_LT(packed.size(), plain.size());
  // The SRV target is written out in full (RFC 2782).
  const std::string target("\5api-0\3api\7default\5prisn\5local", 30);
  EXPECT_NE(std::search(packed.begin(), packed.end(), target.begin(), target.end()), packed.end());
}

TEST(DnsCodec, ExtendedRcodeTravelsInOpt) {
  Message m;
  m.qr = true;
  m.rcode = rcode::kBadVers;
  m.edns = Edns{};
  Bytes wire;
  serialize(m, wire);
  EXPECT_EQ(wire[3] & 0xF, 0);
  EXPECT_EQ(parse(wire)->rcode, rcode::kBadVers);
}

TEST(DnsCodec, DropsAdditionalThenSetsTcWhenTooLarge) {
  Message m = sample();
  Bytes wire;
  Bytes full;
  serialize(m, full);
  EXPECT_TRUE(serialize(m, wire, {.max_size = full.size() - 1}));  // additional dropped
  auto fit = parse(wire);
  ASSERT_TRUE(fit);
  EXPECT_TRUE(fit->additional.empty());
  EXPECT_FALSE(fit->answers.empty());
  EXPECT_FALSE(fit->tc);
  wire.clear();
  EXPECT_FALSE(serialize(m, wire, {.max_size = 60}));
  auto truncated = parse(wire);
  ASSERT_TRUE(truncated);
  EXPECT_TRUE(truncated->tc);
  EXPECT_TRUE(truncated->answers.empty());
  EXPECT_EQ(truncated->questions, m.questions);
  EXPECT_TRUE(truncated->edns);
}

TEST(DnsCodec, RejectsTruncatedMessagesAtEveryLength) {
  Bytes wire;
  serialize(sample(), wire);
  for (std::size_t n = 0; n < wire.size(); ++n) {
    EXPECT_FALSE(parse(std::span(wire.data(), n))) << "length " << n;
  }
}

TEST(DnsCodec, RejectsPointersThatDoNotPointBackwards) {
  // Question name is a pointer to itself (offset 12).
  EXPECT_EQ(error_of(header(1, 0, 0, 0) + Bytes{0xC0, 12, 0, 1, 0, 1}), Errc::kPointerLoop);
  // Forward pointer.
  EXPECT_EQ(error_of(header(1, 0, 0, 0) + Bytes{0xC0, 20, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0}), Errc::kPointerLoop);
  // A label, then a pointer back to that label: would expand forever.
  EXPECT_EQ(error_of(header(1, 0, 0, 0) + Bytes{1, 'a', 0xC0, 12, 0, 1, 0, 1}), Errc::kPointerLoop);
  // An answer name pointing forward, at a pointer back to it.
  const Bytes q{1, 'a', 0, 0, 1, 0, 1};  // question at 12..18
  EXPECT_EQ(error_of(header(1, 1, 0, 0) + q + Bytes{0xC0, 21, 0xC0, 19, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 1, 2, 3, 4}),
            Errc::kPointerLoop);
}

TEST(DnsCodec, AcceptsAPointerToAnEarlierName) {
  const Bytes wire = header(1, 1, 0, 0, 0x8000) + Bytes{1, 'a', 0, 0, 1, 0, 1} +
                     Bytes{0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 10, 0, 0, 1};
  auto m = parse(wire);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->answers.at(0).name, name("a"));
  EXPECT_EQ(std::get<AData>(m->answers[0].data).address, (std::array<std::uint8_t, 4>{10, 0, 0, 1}));
}

TEST(DnsCodec, RejectsBadLabelsAndLongNames) {
  EXPECT_EQ(error_of(header(1, 0, 0, 0) + Bytes{0x41, 'a', 0, 0, 1, 0, 1}), Errc::kBadLabel);
  EXPECT_EQ(error_of(header(1, 0, 0, 0) + Bytes{0x81, 'a', 0, 0, 1, 0, 1}), Errc::kBadLabel);
  Bytes long_name;
  for (int i = 0; i < 5; ++i) {
    long_name.push_back(60);
    long_name.insert(long_name.end(), 60, 'x');
  }
  long_name.push_back(0);
  EXPECT_EQ(error_of(header(1, 0, 0, 0) + long_name + Bytes{0, 1, 0, 1}), Errc::kNameTooLong);
}

TEST(DnsCodec, LimitsRecordCounts) {
  EXPECT_EQ(error_of(header(0, 255, 255, 255) + Bytes(20, 0)), Errc::kTruncated);
  ParseLimits tight{.max_records = 2};
  auto r = parse(header(1, 1, 1, 0) + Bytes(40, 0), tight);
  ASSERT_FALSE(r);
  EXPECT_EQ(static_cast<Errc>(r.error().value()), Errc::kTooManyRecords);
}

TEST(DnsCodec, OptMustBeOneRootRecordInAdditional) {
  const Bytes opt{0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_TRUE(parse(header(0, 0, 0, 1) + opt));
  EXPECT_EQ(error_of(header(0, 1, 0, 0) + opt), Errc::kBadOpt);
  EXPECT_EQ(error_of(header(0, 0, 0, 2) + opt + opt), Errc::kBadOpt);
  EXPECT_EQ(error_of(header(0, 0, 0, 1) + Bytes{1, 'a', 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0}), Errc::kBadOpt);
}

TEST(DnsCodec, RdataMustMatchItsType) {
  const Bytes q{1, 'a', 0};
  // An A record with 5 bytes of data.
  EXPECT_EQ(error_of(header(0, 1, 0, 0) + q + Bytes{0, 1, 0, 1, 0, 0, 0, 5, 0, 5, 1, 2, 3, 4, 5}), Errc::kBadRdata);
  // An NS record whose name runs past its rdlength.
  EXPECT_EQ(error_of(header(0, 1, 0, 0) + q + Bytes{0, 2, 0, 1, 0, 0, 0, 5, 0, 1, 1, 'b', 0}), Errc::kBadRdata);
  // rdlength past the end.
  EXPECT_EQ(error_of(header(0, 1, 0, 0) + q + Bytes{0, 16, 0, 1, 0, 0, 0, 5, 0, 9, 1}), Errc::kTruncated);
}

TEST(DnsCodec, RejectsTrailingBytes) {
  EXPECT_EQ(error_of(header(1, 0, 0, 0) + Bytes{1, 'a', 0, 0, 1, 0, 1, 0xFF}), Errc::kTrailingData);
}

TEST(DnsCodec, ErrorsHaveMessages) {
  EXPECT_EQ(make_error_code(Errc::kPointerLoop).message(), "compression pointer does not point backwards");
  EXPECT_STREQ(make_error_code(Errc::kTruncated).category().name(), "prisn.dns");
}

TEST(DnsMessage, LookupTypesAreTheKnownRecordTypesButNotTheTransferOnes) {
  EXPECT_EQ(lookup_type("srv"), type::kSrv);
  EXPECT_EQ(lookup_type("AAAA"), type::kAaaa);
  for (const char* refused : {"AXFR", "IXFR", "OPT", "BOGUS", "", "TYPE65"}) EXPECT_FALSE(lookup_type(refused)) << refused;
}
