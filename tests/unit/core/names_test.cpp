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

}  // namespace prisn
