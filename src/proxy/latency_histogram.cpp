// SPDX-License-Identifier: MIT
#include "prisn/proxy/latency_histogram.hpp"

#include <algorithm>

namespace prisn::proxy {
namespace {

// Stores `value` where it is below (or, with `above`, above) the current one.
void keep_extreme(std::atomic<std::uint64_t>& at, std::uint64_t value, bool above) {
  auto current = at.load(std::memory_order_relaxed);
  while ((above ? value > current : value < current) &&
         !at.compare_exchange_weak(current, value, std::memory_order_relaxed)) {
  }
}

}  // namespace

void LatencyHistogram::record(double seconds) {
  const auto bucket = static_cast<std::size_t>(std::lower_bound(kBounds.begin(), kBounds.end(), seconds) - kBounds.begin());
  buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_us.fetch_add(static_cast<std::uint64_t>(std::max(seconds, 0.0) * 1e6), std::memory_order_relaxed);
  const auto ns = static_cast<std::uint64_t>(std::max(seconds, 0.0) * 1e9);
  keep_extreme(min_ns, ns, false);
  keep_extreme(max_ns, ns, true);
}

double LatencyHistogram::quantile(double q) const {
  std::array<std::uint64_t, kBounds.size() + 1> counts{};
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) total += counts[i] = buckets[i].load(std::memory_order_relaxed);
  if (total == 0) return 0;
  // Interpolation assumes a bucket's values spread evenly over it: four of 3 s in (2.5 s, 5 s]
  // would give a p99 of 4.95 s. The extremes seen bound that.
  const double fastest = static_cast<double>(min_ns.load(std::memory_order_relaxed)) / 1e9;
  const double slowest = static_cast<double>(max_ns.load(std::memory_order_relaxed)) / 1e9;
  auto bounded = [&](double v) { return std::clamp(v, std::min(fastest, slowest), slowest); };
  const double rank = q * static_cast<double>(total);
  double seen = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (seen + static_cast<double>(counts[i]) >= rank && counts[i] > 0) {
      const double lo = i == 0 ? 0 : kBounds[i - 1];
      const double hi = i < kBounds.size() ? kBounds[i] : kBounds.back() * 2;
      return bounded(lo + (hi - lo) * (rank - seen) / static_cast<double>(counts[i]));
    }
    seen += static_cast<double>(counts[i]);
  }
  return bounded(kBounds.back());
}

}  // namespace prisn::proxy
