// SPDX-License-Identifier: MIT
#include "prisn/dns/name.hpp"

#include <gtest/gtest.h>

using prisn::dns::Name;

TEST(DnsName, ParsesTextWithAndWithoutTrailingDot) {
  auto a = Name::from_text("api.default.prisn.local");
  auto b = Name::from_text("api.default.prisn.local.");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->wire(), std::string("\3api\7default\5prisn\5local"));
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->label_count(), 4U);
  EXPECT_EQ(a->to_text(), "api.default.prisn.local");
}

TEST(DnsName, RootIsEmpty) {
  EXPECT_TRUE(Name::from_text(".")->is_root());
  EXPECT_TRUE(Name::from_text("")->is_root());
  EXPECT_EQ(Name::from_text(".")->wire_size(), 1U);
}

TEST(DnsName, ComparesIgnoringCaseButKeepsIt) {
  auto mixed = *Name::from_text("API.Default.prisn.LOCAL");
  EXPECT_EQ(mixed, *Name::from_text("api.default.prisn.local"));
  EXPECT_EQ(mixed.to_text(), "API.Default.prisn.LOCAL");
  EXPECT_EQ(mixed.lowered().to_text(), "api.default.prisn.local");
}

TEST(DnsName, SubdomainRespectsLabelBoundaries) {
  const auto zone = *Name::from_text("prisn.local");
  EXPECT_TRUE(Name::from_text("a.b.prisn.local")->is_subdomain_of(zone));
  EXPECT_TRUE(Name::from_text("PRISN.local")->is_subdomain_of(zone));
  EXPECT_FALSE(Name::from_text("xprisn.local")->is_subdomain_of(zone));
  EXPECT_FALSE(Name::from_text("local")->is_subdomain_of(zone));
}

TEST(DnsName, RejectsEmptyAndOversizedLabels) {
  EXPECT_FALSE(Name::from_text("a..b"));
  EXPECT_FALSE(Name::from_text(std::string(64, 'a') + ".local"));
  EXPECT_TRUE(Name::from_text(std::string(63, 'a') + ".local"));
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(60, 'b') + ".";
  EXPECT_FALSE(Name::from_text(long_name));
}

TEST(DnsName, EscapesRoundTrip) {
  auto n = Name::from_text("a\\.b.c\\032d");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->label_count(), 2U);
  EXPECT_EQ(n->labels()[0], "a.b");
  EXPECT_EQ(n->labels()[1], "c d");
  EXPECT_EQ(*Name::from_text(n->to_text()), *n);
  EXPECT_FALSE(Name::from_text("a\\25"));
  EXPECT_FALSE(Name::from_text("a\\999"));
}
