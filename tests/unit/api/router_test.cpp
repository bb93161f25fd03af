// SPDX-License-Identifier: MIT
#include "api/router.hpp"

#include <gtest/gtest.h>

namespace prisn::api {
namespace {

Request req(const std::string& method, const std::string& path) {
  Request r;
  r.method = method;
  r.path = path;
  return r;
}

TEST(Router, MatchesParamsAndMethods) {
  Router router;
  std::string seen;
  router.add("GET", "/api/v1/deployments/{name}", [&](const Request&, const Params& p) {
    seen = p.at("name");
    return json(200, {{"ok", true}});
  });
  router.add("DELETE", "/api/v1/deployments/{name}", [](const Request&, const Params&) { return json(200, {}); });
  EXPECT_EQ(router.dispatch(req("GET", "/api/v1/deployments/api")).status, 200);
  EXPECT_EQ(seen, "api");
  EXPECT_EQ(router.dispatch(req("GET", "/api/v1/deployments/api/")).status, 200);  // trailing slash
  const auto wrong = router.dispatch(req("PATCH", "/api/v1/deployments/api"));
  EXPECT_EQ(wrong.status, 405);
  ASSERT_EQ(wrong.headers.size(), 1U);
  EXPECT_EQ(wrong.headers[0].second, "GET, HEAD, DELETE");
  // HEAD is served by the GET route (the session leaves the body out).
  seen.clear();
  EXPECT_EQ(router.dispatch(req("HEAD", "/api/v1/deployments/web")).status, 200);
  EXPECT_EQ(seen, "web");
  const auto missing = router.dispatch(req("GET", "/api/v1/nothing"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("\"code\":\"not_found\""), std::string::npos);
}

TEST(Http, ErrorObjectShape) {
  const auto r = error(Error::invalid("replicas: must be between 0 and 1000"));
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body, "{\"error\":{\"code\":\"invalid\",\"message\":\"replicas: must be between 0 and 1000\"}}\n");
}

TEST(Http, JsonNeverThrowsOnInvalidUtf8) {
  const auto r = json(200, {{"x", std::string("\xff\xfe")}});
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\xEF\xBF\xBD"), std::string::npos);  // U+FFFD
}

TEST(Http, UrlDecodeAndQuery) {
  EXPECT_EQ(url_decode("a%20b+c", true).value(), "a b c");
  EXPECT_EQ(url_decode("a+b", false).value(), "a+b");
  EXPECT_FALSE(url_decode("%zz", true));
  EXPECT_FALSE(url_decode("%4", true));
  std::map<std::string, std::string> q;
  ASSERT_TRUE(parse_query("namespace=prod&follow=true&since=2026-11-23T10%3A00%3A00Z&flag", q));
  EXPECT_EQ(q.at("namespace"), "prod");
  EXPECT_EQ(q.at("since"), "2026-11-23T10:00:00Z");
  EXPECT_EQ(q.at("flag"), "");
  EXPECT_FALSE(parse_query("a=%", q));
}

}  // namespace
}  // namespace prisn::api
