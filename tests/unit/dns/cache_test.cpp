// SPDX-License-Identifier: MIT
#include "prisn/dns/cache.hpp"

#include <gtest/gtest.h>

using namespace prisn::dns;
using namespace std::chrono_literals;

namespace {

Message answer(const std::string& name, std::uint32_t ttl, std::uint16_t rc = rcode::kNoError) {
  Message m;
  m.qr = true;
  m.rcode = rc;
  const Name n = *Name::from_text(name);
  m.questions.push_back({n, type::kA, kClassIn});
  if (rc == rcode::kNoError) {
    m.answers.push_back({n, type::kA, kClassIn, ttl, AData{{192, 0, 2, 1}}});
    m.answers.push_back({n, type::kA, kClassIn, ttl + 100, AData{{192, 0, 2, 2}}});
  } else {
    m.authority.push_back({*Name::from_text("example.com"), type::kSoa, kClassIn, ttl + 50,
                           SoaData{*Name::from_text("ns.example.com"), *Name::from_text("h.example.com"), 1, 1, 1, 1, ttl}});
  }
  return m;
}

Question question(const std::string& name) { return {*Name::from_text(name), type::kA, kClassIn}; }

}  // namespace

TEST(DnsCache, KeepsAnswersForTheirSmallestTtlAndAgesThem) {
  ResponseCache cache(10);
  const auto t0 = ResponseCache::Clock::time_point{} + 1000s;
  cache.store(answer("example.com", 30), false, t0);
  auto hit = cache.lookup(question("EXAMPLE.com"), false, t0 + 10s);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->answers[0].ttl, 20U);
  EXPECT_EQ(hit->answers[1].ttl, 120U);
  EXPECT_FALSE(cache.lookup(question("example.com"), false, t0 + 30s));
  EXPECT_FALSE(cache.lookup(question("example.com"), true, t0 + 1s));  // DO bit is part of the key
}

TEST(DnsCache, NegativeAnswersUseTheSoaMinimum) {
  ResponseCache cache(10);
  const auto t0 = ResponseCache::Clock::time_point{} + 1000s;
  cache.store(answer("nx.example.com", 15, rcode::kNxDomain), false, t0);
  EXPECT_TRUE(cache.lookup(question("nx.example.com"), false, t0 + 14s));
  EXPECT_FALSE(cache.lookup(question("nx.example.com"), false, t0 + 15s));
}

TEST(DnsCache, ANegativeAnswersSoaCarriesTheNegativeTtl) {
  Message nx = answer("nx.example.com", 60, rcode::kNxDomain);  // SOA TTL 110, MINIMUM 60
  cap_negative_ttl(nx);
  EXPECT_EQ(nx.authority[0].ttl, 60U);
  Message positive = answer("example.com", 30);
  positive.authority = nx.authority;
  positive.authority[0].ttl = 500;
  cap_negative_ttl(positive);  // only negative answers
  EXPECT_EQ(positive.authority[0].ttl, 500U);
}

TEST(DnsCache, SkipsUncacheableAnswers) {
  ResponseCache cache(10);
  const auto t0 = ResponseCache::Clock::time_point{} + 1000s;
  cache.store(answer("zero.example.com", 0), false, t0);
  Message servfail = answer("sf.example.com", 30);
  servfail.rcode = rcode::kServFail;
  cache.store(servfail, false, t0);
  Message tc = answer("tc.example.com", 30);
  tc.tc = true;
  cache.store(tc, false, t0);
  EXPECT_EQ(cache.size(), 0U);
}

TEST(DnsCache, EvictsWhenFull) {
  ResponseCache cache(2);
  const auto t0 = ResponseCache::Clock::time_point{} + 1000s;
  cache.store(answer("a.example.com", 10), false, t0);
  cache.store(answer("b.example.com", 100), false, t0);
  cache.store(answer("c.example.com", 100), false, t0);
  EXPECT_EQ(cache.size(), 2U);
  EXPECT_FALSE(cache.lookup(question("a.example.com"), false, t0));  // the soonest to expire went
  EXPECT_TRUE(cache.lookup(question("c.example.com"), false, t0));
}
