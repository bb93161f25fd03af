// SPDX-License-Identifier: MIT
#include "prisn/proxy/route_table.hpp"

#include <gtest/gtest.h>

namespace prisn::proxy {
namespace {

std::string match(const RouteTable<std::string>& t, std::string_view host, std::string_view target) {
  const std::string* hit = t.match(host, target);
  return hit ? *hit : "404";
}

TEST(RouteTable, LongestPrefixOnWholeSegments) {
  RouteTable<std::string> t;
  t.add("api.example.com", "/", "root");
  t.add("api.example.com", "/app", "app");
  t.add("api.example.com", "/app/admin/", "admin");
  EXPECT_EQ(match(t, "api.example.com", "/"), "root");
  EXPECT_EQ(match(t, "api.example.com", "/app"), "app");
  EXPECT_EQ(match(t, "api.example.com", "/app/"), "app");
  EXPECT_EQ(match(t, "api.example.com", "/app/x?y=1"), "app");
  EXPECT_EQ(match(t, "api.example.com", "/apple"), "root");
  EXPECT_EQ(match(t, "api.example.com", "/app/admin"), "admin");
  EXPECT_EQ(match(t, "api.example.com", "/app/administrator"), "app");
  EXPECT_EQ(match(t, "api.example.com", "http://api.example.com/app/x"), "app");
}

TEST(RouteTable, HostsIgnoreCaseAndPortAndExactBeatsWildcard) {
  RouteTable<std::string> t;
  t.add("api.example.com", "/", "exact");
  t.add("*.example.com", "/", "wild");
  t.add("", "/", "any");
  EXPECT_EQ(match(t, "API.Example.COM:8080", "/"), "exact");
  EXPECT_EQ(match(t, "web.example.com", "/"), "wild");
  EXPECT_EQ(match(t, "a.b.example.com", "/"), "any");  // one extra label only
  EXPECT_EQ(match(t, "example.com", "/"), "any");      // not the bare domain
  EXPECT_EQ(match(t, "other.org", "/"), "any");
  EXPECT_EQ(match(t, "", "/"), "any");
}

TEST(RouteTable, TheHostGroupIsChosenBeforeThePath) {
  RouteTable<std::string> t;
  t.add("api.example.com", "/v1", "v1");
  t.add("*.example.com", "/", "wild");
  EXPECT_EQ(match(t, "api.example.com", "/v1/x"), "v1");
  EXPECT_EQ(match(t, "api.example.com", "/v2"), "404");  // an exact host with no such path
  RouteTable<std::string> empty;
  EXPECT_EQ(match(empty, "api.example.com", "/"), "404");
}

TEST(RouteTable, ALaterAddReplaces) {
  RouteTable<std::string> t;
  t.add("a.example.com", "/x/", "first");
  t.add("a.example.com", "/x", "second");
  EXPECT_EQ(match(t, "a.example.com", "/x"), "second");
}

TEST(RouteTable, Helpers) {
  EXPECT_EQ(normalise_host("[::1]:8080"), "[::1]");
  EXPECT_EQ(normalise_host("Example.COM."), "example.com");
  EXPECT_EQ(request_path("/a/b?c#d"), "/a/b");
  EXPECT_EQ(request_path(""), "/");
  EXPECT_TRUE(path_has_prefix("/a/b", "/a"));
  EXPECT_FALSE(path_has_prefix("/ab", "/a"));
}

TEST(RouteTable, AbsoluteFormTargetsNameTheirHost) {
  EXPECT_EQ(absolute_authority("http://api.example.com/x?y"), "api.example.com");
  EXPECT_EQ(absolute_authority("https://a.example:8443"), "a.example:8443");
  EXPECT_EQ(absolute_authority("http://user:pw@a.example/"), "a.example");
  EXPECT_EQ(absolute_authority("/http://a.example/"), "");
  EXPECT_EQ(absolute_authority("*"), "");
  EXPECT_EQ(request_path("http://api.example.com/x?y"), "/x");
}

}  // namespace
}  // namespace prisn::proxy
