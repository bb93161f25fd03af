// SPDX-License-Identifier: MIT
#include "prisn/control/metrics.hpp"

#include <gtest/gtest.h>

#include "prisn/control/events.hpp"

namespace prisn::control {
namespace {

TEST(MetricsText, FamiliesAndEscapedLabels) {
  MetricsText m;
  m.family("prisn_x_total", "Things.", "counter");
  m.sample("prisn_x_total", {{"deployment", "a\"b\\c\nd"}}, 3);
  m.sample("prisn_x_total", {}, 0.5);
  EXPECT_EQ(m.text(),
            "# HELP prisn_x_total Things.\n# TYPE prisn_x_total counter\n"
            "prisn_x_total{deployment=\"a\\\"b\\\\c\\nd\"} 3\nprisn_x_total 0.5\n");
}

TEST(Histogram, CumulativeBuckets) {
  Histogram h({1, 5});
  h.observe(0.5);
  h.observe(1);
  h.observe(3);
  h.observe(10);
  MetricsText m;
  h.render(m, "d", {{"k", "v"}});
  EXPECT_EQ(m.text(),
            "d_bucket{k=\"v\",le=\"1\"} 2\nd_bucket{k=\"v\",le=\"5\"} 3\nd_bucket{k=\"v\",le=\"+Inf\"} 4\n"
            "d_sum{k=\"v\"} 14.5\nd_count{k=\"v\"} 4\n");
}

TEST(EventBus, SubscribersMayUnsubscribeWhileCalled) {
  EventBus bus;
  int calls = 0;
  int id = 0;
  id = bus.subscribe([&](const Event&) {
    ++calls;
    bus.unsubscribe(id);
  });
  bus.publish({"ADDED", "deployment", {}});
  bus.publish({"ADDED", "deployment", {}});
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(bus.has_subscribers());
}

}  // namespace
}  // namespace prisn::control
