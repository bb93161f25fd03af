// SPDX-License-Identifier: MIT
#include "prisn/core/ascii.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

namespace prisn {
namespace {

TEST(Ascii, EqualityIgnoresOnlyAsciiCase) {
  EXPECT_TRUE(ascii_iequals("100-Continue", "100-continue"));
  EXPECT_TRUE(ascii_iequals("", ""));
  EXPECT_FALSE(ascii_iequals("http:/", "http://"));
  EXPECT_FALSE(ascii_iequals("http:;/", "http://"));  // ';' is not '/' in another case
  EXPECT_FALSE(ascii_iequals("\xc3\xa9", "\xc3\x89"));  // é and É: bytes above ASCII compare as they are
  EXPECT_EQ(ascii_lower('Z'), 'z');
  EXPECT_EQ(ascii_lower('['), '[');
}

TEST(Ascii, EqualityReadsNothingPastEitherView) {
  // A view that ends exactly where its heap buffer does, differing only in case from the
  // other: the ASan build reports a read past it.
  const std::size_t n = std::strlen("HTTP://");
  const auto bytes = std::make_unique<char[]>(n);
  std::memcpy(bytes.get(), "HTTP://", n);
  EXPECT_TRUE(ascii_iequals(std::string_view(bytes.get(), n), "http://"));
  EXPECT_TRUE(ascii_iequals("http://", std::string_view(bytes.get(), n)));
}

}  // namespace
}  // namespace prisn
