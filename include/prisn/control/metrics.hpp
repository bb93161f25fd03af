// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace prisn::control {

using Labels = std::vector<std::pair<std::string, std::string>>;

/// Writes the Prometheus text exposition format (version 0.0.4). Written by hand: Debian 12
/// has no C++ Prometheus client library, and the format is a few lines of text.
class MetricsText {
 public:
  /// Starts a metric family with its HELP and TYPE lines.
  void family(const std::string& name, const std::string& help, const std::string& type);
  void sample(const std::string& name, const Labels& labels, double value);
  const std::string& text() const { return out_; }

 private:
  std::string out_;
};

/// A cumulative histogram with fixed buckets.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  /// Appends `name`_bucket/_sum/_count samples (the family line is the caller's).
  void render(MetricsText& out, const std::string& name, const Labels& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bucket, not cumulative
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

/// Escapes a label value (backslash, quote, newline).
std::string escape_label(const std::string& value);

}  // namespace prisn::control
