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
  EXPECT_EQ(absolute_authority("HTTP://A.Example/z"), "A.Example");  // the scheme in any case
  EXPECT_EQ(origin_form("HTTPS://a.example/z?q"), "/z?q");
  EXPECT_EQ(absolute_authority("/http://a.example/"), "");
  EXPECT_EQ(absolute_authority("*"), "");
  EXPECT_EQ(request_path("http://api.example.com/x?y"), "/x");
  EXPECT_EQ(origin_form("http://api.example.com/x?y"), "/x?y");
  EXPECT_EQ(origin_form("https://api.example.com"), "/");
  EXPECT_EQ(origin_form("http://api.example.com?q"), "/?q");
  EXPECT_EQ(origin_form("/plain?q"), "/plain?q");
}

TEST(RouteTable, HostValuesAreCheckedAsAuthorities) {
  for (const char* ok : {"api.example.com", "api.example.com:8080", "127.0.0.1:80", "[::1]:8443", "[::1]", "a_b",
                         "", "host:"}) {
    EXPECT_TRUE(is_valid_authority(ok)) << ok;
  }
  for (const char* bad : {"api example.com", "api.example.com:abc", "a/b", "[::1", "[::1]x", "a:123456", "a@b",
                          "h\tab", "a%zz"}) {
    EXPECT_FALSE(is_valid_authority(bad)) << bad;
  }
}

TEST(RouteTable, PathsAreComparedNormalised) {
  std::string scratch;
  EXPECT_EQ(normalise_path("/api/x", scratch), "/api/x");
  EXPECT_EQ(normalise_path("/admin/../etc", scratch), "/etc");
  EXPECT_EQ(normalise_path("/%61dmin/%7euser", scratch), "/admin/~user");
  EXPECT_EQ(normalise_path("/x/a%2fb", scratch), "/x/a%2Fb");  // %2F stays inside its segment
  EXPECT_EQ(normalise_path("/a/%2E%2E/c", scratch), "/c");
  EXPECT_EQ(normalise_path("//a///b/./", scratch), "/a/b/");
  EXPECT_EQ(normalise_path("/../..", scratch), "/");
  // A stray '%' cannot start a new escape with what is decoded after it: one pass is final.
  EXPECT_EQ(normalise_path("/%%341", scratch), "/%2541");
  EXPECT_EQ(normalise_path("/a%", scratch), "/a%25");
  EXPECT_EQ(normalise_path("/a/b/..", scratch), "/a/");
  RouteTable<std::string> t;
  t.add("", "/admin", "admin");
  t.add("", "/", "root");
  EXPECT_EQ(*t.match("h", "/admin/../etc"), "root");
  EXPECT_EQ(*t.match("h", "/%61dmin/x"), "admin");
  EXPECT_EQ(*t.match("h", "//admin"), "admin");
}

// Two rules match the same requests when their route_path() is the same: the conflict check
// and the table compare by it.
TEST(RouteTable, RoutePathIsWhatRequestsAreMatchedAgainst) {
  EXPECT_EQ(route_path("/api"), "/api");
  EXPECT_EQ(route_path("/api/"), "/api");
  EXPECT_EQ(route_path("/api//"), "/api");
  EXPECT_EQ(route_path("/%61pi"), "/api");
  EXPECT_EQ(route_path("/app/*"), "/app");  // the seed's glob
  EXPECT_EQ(route_path("/*"), "/");
  EXPECT_EQ(route_path("/"), "/");
  RouteTable<std::string> t;
  t.add("", "/app/*", "app");
  EXPECT_EQ(*t.match("h", "/app/x"), "app");
  EXPECT_EQ(*t.match("h", "/app"), "app");
  EXPECT_EQ(t.match("h", "/apple"), nullptr);
}

}  // namespace
}  // namespace prisn::proxy
