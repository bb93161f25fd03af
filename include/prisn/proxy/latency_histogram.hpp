// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace prisn::proxy {

/// A latency histogram with Prometheus-style bucket bounds, relaxed atomics: the data plane
/// records, /metrics and `prisn proxy stats` read, without a lock between them.
struct LatencyHistogram {
  /// Upper bounds of the buckets, in seconds.
  static constexpr std::array<double, 14> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                     0.25,  0.5,    1,     2.5,  5,    10,  30};
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets{};  ///< per bucket; last = +Inf
  std::atomic<std::uint64_t> sum_us{0};
  std::atomic<std::uint64_t> min_ns{UINT64_MAX};  ///< bounds what interpolation may report
  std::atomic<std::uint64_t> max_ns{0};

  void record(double seconds);
  /// The q-quantile (0..1), interpolated within its bucket and kept within the fastest and
  /// slowest value seen, in seconds; 0 before anything was recorded.
  double quantile(double q) const;
};

}  // namespace prisn::proxy
