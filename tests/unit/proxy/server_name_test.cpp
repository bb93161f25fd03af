// SPDX-License-Identifier: MIT
#include "proxy/server_name.hpp"

#include <gtest/gtest.h>

#include <string>

namespace prisn::proxy::detail {
namespace {

using namespace std::string_literals;

TEST(ServerName, ReadsTheHostNameEntry) {
  EXPECT_EQ(host_name_in_server_name_extension("\x00\x0e\x00\x00\x0b" "example.com"s), "example.com");
  // an entry of another type first is stepped over
  EXPECT_EQ(host_name_in_server_name_extension("\x00\x08\x01\x00\x01x\x00\x00\x01y"s), "y");
}

TEST(ServerName, MalformedOrEmptyIsNone) {
  EXPECT_FALSE(host_name_in_server_name_extension(""));
  EXPECT_FALSE(host_name_in_server_name_extension("\x00"s));
  EXPECT_FALSE(host_name_in_server_name_extension("\x00\x05\x00\x00\x09" "ab"s));   // name past the end
  EXPECT_FALSE(host_name_in_server_name_extension("\x00\x09\x00\x00\x0b" "example"s)); // list length wrong
  EXPECT_FALSE(host_name_in_server_name_extension("\x00\x03\x00\x00\x00"s));       // empty name
  EXPECT_FALSE(host_name_in_server_name_extension("\x00\x04\x01\x00\x01x"s));      // no host_name entry
}

}  // namespace
}  // namespace prisn::proxy::detail
