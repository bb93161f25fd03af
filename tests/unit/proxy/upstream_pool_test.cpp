// SPDX-License-Identifier: MIT
// The L7 router's pool of kept-alive connections to instances.
#include <gtest/gtest.h>

#include "proxy/http_worker.hpp"

namespace prisn::proxy::detail {
namespace {

std::unique_ptr<Upstream> idle_since(asio::io_context& io, const std::string& key, Clock::time_point when) {
  auto conn = std::make_unique<Upstream>(io.get_executor());
  conn->socket.open(asio::ip::tcp::v4());  // open, as a pooled connection is
  conn->key = key;
  conn->idle_since = when;
  return conn;
}

TEST(UpstreamPool, ClosesConnectionsIdleForTooLong) {
  asio::io_context io;
  UpstreamPool pool(8);
  const auto now = Clock::now();
  pool.give(idle_since(io, "a", now - UpstreamPool::kIdleFor - std::chrono::seconds(5)));
  pool.give(idle_since(io, "a", now - std::chrono::seconds(1)));
  pool.give(idle_since(io, "b", now - UpstreamPool::kIdleFor));
  pool.close_idle(now);
  auto fresh = pool.take("a", false);
  ASSERT_NE(fresh, nullptr);  // the one idle for a second stays
  EXPECT_EQ(fresh->idle_since, now - std::chrono::seconds(1));
  EXPECT_EQ(pool.take("a", false), nullptr);  // the old one is gone, not merely skipped
  EXPECT_EQ(pool.take("b", false), nullptr);
}

}  // namespace
}  // namespace prisn::proxy::detail
