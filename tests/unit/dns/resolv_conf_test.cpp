// SPDX-License-Identifier: MIT
#include "prisn/dns/resolv_conf.hpp"

#include <gtest/gtest.h>

#include "prisn/dns/server.hpp"

using namespace prisn::dns;

TEST(ResolvConf, ReadsNameserversSearchAndOptions) {
  const auto rc = parse_resolv_conf(
      "# comment\nnameserver 10.0.0.2\nnameserver ::1 # trailing\nsearch corp.example\n"
      "options ndots:2 timeout:1\n; other\ndomain example\n");
  EXPECT_EQ(rc.nameservers, (std::vector<std::string>{"10.0.0.2", "::1"}));
  EXPECT_EQ(rc.search, (std::vector<std::string>{"example"}));  // the last of search and domain wins
  EXPECT_EQ(parse_resolv_conf("search a.example b.example # c\n").search,
            (std::vector<std::string>{"a.example", "b.example"}));
  EXPECT_EQ(rc.option_lines, (std::vector<std::string>{"options ndots:2 timeout:1"}));
}

TEST(ResolvConf, WorkloadFileKeepsSearchAndOptions) {
  const auto text = render_workload_resolv_conf(parse_resolv_conf("nameserver 1.1.1.1\nsearch a.b\noptions edns0\n"),
                                                "127.0.0.1");
  EXPECT_NE(text.find("nameserver 127.0.0.1\n"), std::string::npos);
  EXPECT_EQ(text.find("1.1.1.1"), std::string::npos);
  EXPECT_NE(text.find("search a.b\n"), std::string::npos);
  EXPECT_NE(text.find("options edns0\n"), std::string::npos);
}

TEST(ResolvConf, WorkloadSearchListStartsWithItsNamespace) {
  const auto text = render_workload_resolv_conf(parse_resolv_conf("nameserver 1.1.1.1\nsearch corp.example prisn.local\n"),
                                                "10.209.0.1", {"prod.prisn.local", "prisn.local"});
  EXPECT_NE(text.find("\nsearch prod.prisn.local prisn.local corp.example\n"), std::string::npos) << text;
  EXPECT_EQ(render_workload_resolv_conf({}, "10.209.0.1").find("search"), std::string::npos);
}

TEST(ResolvConf, UpstreamsSkipPrisnItself) {
  EXPECT_EQ(upstreams_from_resolv_conf("nameserver 127.0.0.1\nnameserver 10.0.0.2\n", "127.0.0.1:53"),
            (std::vector<std::string>{"10.0.0.2:53"}));
  EXPECT_EQ(upstreams_from_resolv_conf("nameserver 127.0.0.1\n", "127.0.0.1:5353"),
            (std::vector<std::string>{"127.0.0.1:53"}));
  EXPECT_EQ(upstreams_from_resolv_conf("nameserver 127.0.0.53\nnameserver ::1\n", "0.0.0.0:53"),
            (std::vector<std::string>{}));
}
