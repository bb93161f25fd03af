// SPDX-License-Identifier: MIT
#include <algorithm>

#include "prisn/proxy/l7_snapshot.hpp"

namespace prisn::proxy {

void RouteStats::record(int status, double seconds) {
  requests.fetch_add(1, std::memory_order_relaxed);
  by_code[static_cast<std::size_t>(std::clamp(status, 0, 599))].fetch_add(1, std::memory_order_relaxed);
  const auto bucket = static_cast<std::size_t>(std::lower_bound(kBounds.begin(), kBounds.end(), seconds) - kBounds.begin());
  latency[bucket].fetch_add(1, std::memory_order_relaxed);
  latency_sum_us.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

std::uint64_t RouteStats::errors() const {
  std::uint64_t n = 0;
  for (std::size_t code = 500; code < by_code.size(); ++code) n += by_code[code].load(std::memory_order_relaxed);
  return n;
}

double RouteStats::quantile(double q) const {
  std::array<std::uint64_t, kBounds.size() + 1> counts{};
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) total += counts[i] = latency[i].load(std::memory_order_relaxed);
  if (total == 0) return 0;
  const double rank = q * static_cast<double>(total);
  double seen = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (seen + static_cast<double>(counts[i]) >= rank && counts[i] > 0) {
      const double lo = i == 0 ? 0 : kBounds[i - 1];
      const double hi = i < kBounds.size() ? kBounds[i] : kBounds.back() * 2;
      return lo + (hi - lo) * (rank - seen) / static_cast<double>(counts[i]);
    }
    seen += static_cast<double>(counts[i]);
  }
  return kBounds.back();
}

}  // namespace prisn::proxy
