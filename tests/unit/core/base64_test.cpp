// SPDX-License-Identifier: MIT
#include "prisn/core/base64.hpp"

#include <gtest/gtest.h>

namespace prisn {

TEST(Base64, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    bytes.push_back(static_cast<char>(i * 37));
    EXPECT_EQ(base64_decode(base64_encode(bytes)), bytes) << i;
  }
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
}

TEST(Base64, StrictDecoding) {
  for (const char* bad : {"Zm9", "Zm9v!A==", "Zg=a", "=Zg=", "Zg==Zg==", "Z==="}) {
    EXPECT_FALSE(base64_decode(bad)) << bad;
  }
  EXPECT_EQ(base64_decode(""), "");
}

TEST(Utf8, Validation) {
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"));
  for (std::string bad : {"\xFF", "\xC3", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "a\x80"}) {
    EXPECT_FALSE(is_valid_utf8(bad)) << bad.size();
  }
}

}  // namespace prisn

TEST(Base64, UrlVariantHasNoPaddingAndUrlSafeLetters) {
  EXPECT_EQ(prisn::base64url_encode(std::string("\xfb\xff\xbf", 3)), "-_-_");
  EXPECT_EQ(prisn::base64url_encode("a"), "YQ");
  EXPECT_EQ(prisn::base64url_encode(""), "");
}
