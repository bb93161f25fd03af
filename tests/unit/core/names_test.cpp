// SPDX-License-Identifier: MIT
#include "prisn/core/names.hpp"

#include <gtest/gtest.h>

namespace prisn {

TEST(Names, AcceptsRfc1123Labels) {
  for (const char* ok : {"a", "api", "backup-job", "x1", "1x", "a-b-c", "0"}) {
    EXPECT_TRUE(is_valid_name(ok)) << ok;
  }
}

TEST(Names, RejectsEverythingElse) {
  for (const char* bad : {"", "-a", "a-", "Api", "a_b", "a.b", "a b", "ä", "a/b"}) {
    EXPECT_FALSE(is_valid_name(bad)) << bad;
  }
  EXPECT_TRUE(is_valid_name(std::string(63, 'a')));
  EXPECT_FALSE(is_valid_name(std::string(64, 'a')));
}

TEST(Names, ErrorNamesTheField) {
  auto r = validate_name("deployment_id", "Bad_Name");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Error::Kind::kInvalid);
  EXPECT_NE(r.error().message.find("deployment_id"), std::string::npos);
}

TEST(Names, DefaultNameFromFile) {
  EXPECT_EQ(default_name_for_file("services/Webhook_Receiver.py"), "webhook-receiver");
  EXPECT_EQ(default_name_for_file("api.v2.py"), "api-v2");
  EXPECT_EQ(default_name_for_file("backup"), "backup");
}

TEST(Names, PortNamesAreIanaServiceNames) {
  for (const char* good : {"http", "metrics", "h2c", "grpc-web", "a", "x1234567890abcd"}) {
    EXPECT_TRUE(is_valid_port_name(good)) << good;
  }
  for (const char* bad : {"", "8080", "-http", "http-", "grpc--web", "HTTP", "a_b", "x1234567890abcde"}) {
    EXPECT_FALSE(is_valid_port_name(bad)) << bad;
  }
  auto r = validate_port_name("ports[1].name", "averyveryverylongname");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("ports[1].name: ", 0), 0U);
}

}  // namespace prisn
