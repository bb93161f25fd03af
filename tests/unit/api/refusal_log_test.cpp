// SPDX-License-Identifier: MIT
#include "api/refusal_log.hpp"

#include <gtest/gtest.h>

namespace prisn::api {
namespace {

using std::chrono::seconds;

TEST(RefusalLog, NamesThePeerTheRequestAndWhy) {
  RefusalLog log;
  const auto line = log.refused("10.1.2.3", "GET", "/api/v1/deployments", 401, "invalid token",
                                std::chrono::steady_clock::time_point{});
  ASSERT_TRUE(line);
  EXPECT_EQ(*line, "refused GET /api/v1/deployments from 10.1.2.3: invalid token (401)");
}

// A client's path or Origin must not forge a line of the log, nor reach the reader's terminal.
TEST(RefusalLog, WhatTheClientSentCannotBreakTheLine) {
  RefusalLog log;
  const auto line = log.refused("10.1.2.3", "GET", "/x\n2026-12-07 info token rotated\x1b[2J", 403,
                                "a web page's request (Origin: http://e\r\nvil)", std::chrono::steady_clock::time_point{});
  ASSERT_TRUE(line);
  EXPECT_EQ(line->find_first_of("\n\r\x1b"), std::string::npos) << *line;
  EXPECT_NE(line->find("/x\\x0a2026-12-07 info token rotated\\x1b[2J"), std::string::npos) << *line;
  const auto long_path = log.refused("10.1.2.3", "GET", "/" + std::string(5000, 'a'), 401, "no token",
                                     std::chrono::steady_clock::time_point{});
  ASSERT_TRUE(long_path);
  EXPECT_LT(long_path->size(), 300U);
}

TEST(RefusalLog, KeepsToItsLinesAMinuteAndCountsWhatItLeftOut) {
  RefusalLog log;
  const std::chrono::steady_clock::time_point start{};
  int logged = 0;
  for (int i = 0; i < RefusalLog::kLinesPerMinute + 5; ++i) {
    if (log.refused("10.1.2.3", "GET", "/", 401, "no token", start + seconds(i))) ++logged;
  }
  EXPECT_EQ(logged, RefusalLog::kLinesPerMinute);
  EXPECT_FALSE(log.refused("10.1.2.3", "GET", "/", 401, "no token", start + seconds(59)));
  const auto next_minute = log.refused("10.1.2.3", "GET", "/", 401, "no token", start + seconds(60));
  ASSERT_TRUE(next_minute);
  EXPECT_NE(next_minute->find("; 6 more refused requests were not logged before this one"), std::string::npos);
  const auto after = log.refused("10.1.2.3", "GET", "/", 401, "no token", start + seconds(61));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->find("more refused"), std::string::npos);
}

}  // namespace
}  // namespace prisn::api
