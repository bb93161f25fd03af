// SPDX-License-Identifier: MIT
#include "prisn/proxy/balancer.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace prisn::proxy {
namespace {

using namespace std::chrono_literals;
using Candidate = Balancer::Candidate;
const auto kNow = Balancer::Clock::time_point{} + 1'800'000'000s;

std::vector<Candidate> three() { return {{"api-0", 0}, {"api-1", 0}, {"api-2", 0}}; }

std::map<std::size_t, int> spread(Balancer& b, const std::vector<Candidate>& c, int n,
                                  std::function<Balancer::Request(int)> request = nullptr) {
  std::map<std::size_t, int> out;
  std::mt19937_64 rng(1);
  for (int i = 0; i < n; ++i) {
    auto choice = b.choose(c, request ? request(i) : Balancer::Request{}, {}, kNow, rng());
    EXPECT_TRUE(choice);
    ++out[choice->index];
  }
  return out;
}

TEST(Balancer, RoundRobinCyclesEvenly) {
  Balancer b({});
  EXPECT_EQ(spread(b, three(), 300), (std::map<std::size_t, int>{{0, 100}, {1, 100}, {2, 100}}));
}

TEST(Balancer, RandomSpreadsRoughlyEvenly) {
  Balancer b({.algorithm = Algorithm::kRandom});
  for (auto [i, n] : spread(b, three(), 3000)) EXPECT_NEAR(n, 1000, 150) << i;
}

TEST(Balancer, LeastConnectionsPicksTheIdlest) {
  Balancer b({.algorithm = Algorithm::kLeastConnections});
  const std::vector<Candidate> busy = {{"api-0", 5}, {"api-1", 1}, {"api-2", 3}};
  EXPECT_EQ(spread(b, busy, 10), (std::map<std::size_t, int>{{1, 10}}));
  const std::vector<Candidate> tied = {{"api-0", 2}, {"api-1", 2}, {"api-2", 2}};
  EXPECT_EQ(spread(b, tied, 30).size(), 3U);  // ties rotate
}

TEST(Balancer, IpHashKeepsAClientOnOneInstanceAndSpreadsClients) {
  Balancer b({.algorithm = Algorithm::kIpHash});
  const auto same = spread(b, three(), 50, [](int) { return Balancer::Request{"10.0.0.7"}; });
  EXPECT_EQ(same.size(), 1U);
  std::vector<std::string> ips;
  for (int i = 0; i < 300; ++i) ips.push_back("10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250));
  const auto many = spread(b, three(), 300, [&](int i) { return Balancer::Request{ips[i]}; });
  EXPECT_EQ(many.size(), 3U);
}

TEST(Balancer, ExcludedInstancesAreSkipped) {
  Balancer b({});
  const std::vector<bool> excluded = {true, false, true};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.choose(three(), {}, excluded, kNow, 0)->index, 1U);
  EXPECT_FALSE(b.choose(three(), {}, {true, true, true}, kNow, 0));
  EXPECT_FALSE(b.choose({}, {}, {}, kNow, 0));
}

TEST(Balancer, CookieAffinityIsIssuedHonouredAndExpires) {
  Balancer b({.affinity = Affinity::kCookie, .ttl = 60s, .cookie_key = "k"});
  auto first = b.choose(three(), {}, {}, kNow, 0);
  ASSERT_TRUE(first && first->set_cookie);
  const std::string cookie = b.cookie_value(three()[first->index].name, kNow);
  const std::string signed_part = "api-" + std::to_string(first->index) + ".1800000060000";
  ASSERT_EQ(cookie.substr(0, signed_part.size() + 1), signed_part + ".");
  EXPECT_EQ(cookie.size(), signed_part.size() + 1 + 32);  // a 128-bit MAC in hex
  for (int i = 0; i < 10; ++i) {
    auto again = b.choose(three(), {.cookie = cookie}, {}, kNow + 20s, 0);
    EXPECT_EQ(again->index, first->index);
    EXPECT_FALSE(again->set_cookie);
  }
  auto expired = b.choose(three(), {.cookie = cookie}, {}, kNow + 61s, 0);
  EXPECT_TRUE(expired->set_cookie);
  // The remembered instance is down: another one, with a new cookie.
  std::vector<bool> down(3, false);
  down[first->index] = true;
  auto moved = b.choose(three(), {.cookie = cookie}, down, kNow + 1s, 0);
  EXPECT_NE(moved->index, first->index);
  EXPECT_TRUE(moved->set_cookie);
  EXPECT_TRUE(b.choose(three(), {.cookie = "garbage"}, {}, kNow, 0)->set_cookie);
  EXPECT_TRUE(b.choose(three(), {.cookie = "..."}, {}, kNow, 0)->set_cookie);
  EXPECT_TRUE(b.choose(three(), {.cookie = ".1800000060000."}, {}, kNow, 0)->set_cookie);
}

TEST(Balancer, CookieAffinitySlidesPastHalfItsTtl) {
  Balancer b({.affinity = Affinity::kCookie, .ttl = 60s, .cookie_key = "k"});
  const std::string cookie = b.cookie_value("api-2", kNow);
  auto early = b.choose(three(), {.cookie = cookie}, {}, kNow + 29s, 0);
  EXPECT_EQ(early->index, 2U);
  EXPECT_FALSE(early->set_cookie);
  auto late = b.choose(three(), {.cookie = cookie}, {}, kNow + 31s, 0);
  EXPECT_EQ(late->index, 2U);
  EXPECT_TRUE(late->set_cookie);  // renewed: the session lasts 60 s after this use
  const std::string renewed = b.cookie_value("api-2", kNow + 31s);
  EXPECT_EQ(b.choose(three(), {.cookie = renewed}, {}, kNow + 80s, 0)->index, 2U);
}

TEST(Balancer, ForgedOrStretchedCookiesAreNotHonoured) {
  Balancer b({.affinity = Affinity::kCookie, .ttl = 60s, .cookie_key = "k"});
  const std::string genuine = b.cookie_value("api-2", kNow);
  const std::string mac = genuine.substr(genuine.rfind('.') + 1);
  const auto lands_on_2 = [&](const std::string& cookie) {
    auto c = b.choose(three(), {.cookie = cookie}, {}, kNow + 1s, 0);
    return c->index == 2U && !c->set_cookie;
  };
  ASSERT_TRUE(lands_on_2(genuine));
  std::string flipped = genuine;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  EXPECT_FALSE(lands_on_2(flipped));
  EXPECT_FALSE(lands_on_2("api-2.1800000060000"));           // unsigned (the old form)
  EXPECT_FALSE(lands_on_2("api-2.9999999999000." + mac));    // expiry stretched, MAC kept
  EXPECT_FALSE(lands_on_2("api-2.1800000060000." + mac.substr(0, 16)));  // MAC cut short
  // Expiries at the ends of 64 bits (the ASan+UBSan build checks no arithmetic overflows).
  EXPECT_FALSE(lands_on_2("api-2.-9223372036854775808." + mac));
  EXPECT_FALSE(lands_on_2("api-2.9223372036854775807." + mac));
  // Another key (another node's secret.key) does not honour it either.
  Balancer other({.affinity = Affinity::kCookie, .ttl = 60s, .cookie_key = "other"});
  EXPECT_TRUE(other.choose(three(), {.cookie = genuine}, {}, kNow + 1s, 0)->set_cookie);
}

TEST(Balancer, HeaderAffinityRemembersForTheTtlAfterLastUse) {
  Balancer b({.affinity = Affinity::kHeader, .header = "X-User", .ttl = 10s});
  const auto user = [&](Balancer::Clock::time_point t) {
    return b.choose(three(), {.header = "alice"}, {}, t, 0)->index;
  };
  const auto first = user(kNow);
  EXPECT_EQ(user(kNow + 8s), first);
  EXPECT_EQ(user(kNow + 16s), first);  // sliding: 8 s after the last use
  std::set<std::size_t> after_expiry;
  for (int i = 0; i < 3; ++i) after_expiry.insert(b.choose(three(), {.header = "bob"}, {}, kNow, 0)->index);
  EXPECT_EQ(after_expiry.size(), 1U);
  // Without the header there is no session: round-robin.
  EXPECT_EQ(spread(b, three(), 30).size(), 3U);
}

TEST(Balancer, OptionsFromTheDeploymentSpec) {
  const auto o = balance_options("least-connections", true, "header", "X-User", std::chrono::milliseconds(1500));
  EXPECT_EQ(o.algorithm, Algorithm::kLeastConnections);
  EXPECT_EQ(o.affinity, Affinity::kHeader);
  EXPECT_EQ(o.ttl, 1s);
  EXPECT_EQ(balance_options("nonsense", false, "", "", std::chrono::hours(1)).algorithm, Algorithm::kRoundRobin);
}

}  // namespace
}  // namespace prisn::proxy
