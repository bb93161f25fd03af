// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include "prisn/proxy/l7_snapshot.hpp"

namespace prisn::proxy {
namespace {

TEST(RouteStats, QuantilesInterpolateWithinABucket) {
  RouteStats s;
  for (int i = 0; i < 100; ++i) s.record(200, 0.0011 + 0.0013 * i / 100);  // spread over (1 ms, 2.5 ms]
  EXPECT_NEAR(s.latency.quantile(0.5), 0.00175, 0.0002);
  EXPECT_LE(s.latency.quantile(0.99), 0.0025);
}

TEST(RouteStats, QuantilesStayWithinWhatWasSeen) {
  RouteStats s;
  for (int i = 0; i < 4; ++i) s.record(200, 3.0);  // one bucket, (2.5 s, 5 s]
  EXPECT_DOUBLE_EQ(s.latency.quantile(0.5), 3.0);
  EXPECT_DOUBLE_EQ(s.latency.quantile(0.99), 3.0);
  s.record(200, 0.0004);
  EXPECT_GE(s.latency.quantile(0.01), 0.0004);
  EXPECT_EQ(LatencyHistogram{}.quantile(0.99), 0);
}

TEST(RouteStats, CountsAnswersAndErrorsByCode) {
  RouteStats s;
  s.record(200, 0.01);
  s.record(502, 0.01);
  s.record(503, 0.01);
  s.record(404, 0.01);
  EXPECT_EQ(s.requests.load(), 4u);
  EXPECT_EQ(s.errors(), 2u);
  EXPECT_EQ(s.by_code[404].load(), 1u);
}

}  // namespace
}  // namespace prisn::proxy
