// SPDX-License-Identifier: MIT
#include <algorithm>

#include "prisn/proxy/l7_snapshot.hpp"

namespace prisn::proxy {

void RouteStats::record(int status, double seconds) {
  requests.fetch_add(1, std::memory_order_relaxed);
  by_code[static_cast<std::size_t>(std::clamp(status, 0, 599))].fetch_add(1, std::memory_order_relaxed);
  latency.record(seconds);
}

std::uint64_t RouteStats::errors() const {
  std::uint64_t n = 0;
  for (std::size_t code = 500; code < by_code.size(); ++code) n += by_code[code].load(std::memory_order_relaxed);
  return n;
}

}  // namespace prisn::proxy
