// SPDX-License-Identifier: MIT
#include "prisn/model/secret.hpp"

#include <gtest/gtest.h>

namespace prisn::model {
namespace {

std::string error_of(const Json& body, const std::string& query_ns = "") {
  auto decoded = decode_secret(body, query_ns, "");
  return decoded ? "" : decoded.error().message;
}

Json keys(int from, int to) {
  Json out = Json::object();
  for (int i = from; i < to; ++i) out["k" + std::to_string(i)] = "v";
  return out;
}

TEST(Secret, ValueDataAndBinaryData) {
  auto one = decode_secret(Json{{"name", "db"}, {"value", "s3cret"}}, "", "");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->ns, "default");
  EXPECT_EQ(one->data, (std::map<std::string, std::string>{{"value", "s3cret"}}));
  auto mixed = decode_secret(Json{{"name", "tls"}, {"data", {{"tls.crt", "A"}}}, {"binaryData", {{"raw", "/w=="}}}},
                             "", "");
  ASSERT_TRUE(mixed);
  EXPECT_EQ(mixed->data.at("raw"), std::string("\xff"));
}

TEST(Secret, AtMost256KeysInAllAndTheMessageSaysSo) {
  EXPECT_EQ(error_of(Json{{"name", "a"}, {"data", keys(0, 256)}}), "");
  EXPECT_EQ(error_of(Json{{"name", "a"}, {"data", keys(0, 257)}}),
            "data: a secret holds at most 256 keys (data and binaryData together)");
  EXPECT_EQ(error_of(Json{{"name", "a"}, {"data", keys(0, 200)}, {"binaryData", keys(200, 300)}}),
            "binaryData: a secret holds at most 256 keys (data and binaryData together)");
  EXPECT_EQ(error_of(Json{{"name", "a"}, {"data", Json::array()}}), "data: must be an object of key: value strings");
  EXPECT_EQ(error_of(Json{{"name", "a"}, {"binaryData", Json::object()}}), "binaryData: must not be empty");
}

TEST(Secret, ABodyNamespaceMustAgreeWithTheQuery) {
  auto in_body = decode_secret(Json{{"name", "a"}, {"namespace", "prod"}, {"value", "v"}}, "", "");
  ASSERT_TRUE(in_body);
  EXPECT_EQ(in_body->ns, "prod");
  auto agreeing = decode_secret(Json{{"name", "a"}, {"namespace", "prod"}, {"value", "v"}}, "prod", "");
  ASSERT_TRUE(agreeing);
  EXPECT_EQ(error_of(Json{{"name", "a"}, {"namespace", "y"}, {"value", "v"}}, "x").rfind(
                "namespace: 'y' does not match the namespace of the request, 'x'", 0),
            0U);
}

}  // namespace
}  // namespace prisn::model
