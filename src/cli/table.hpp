// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

namespace prisn::cli {

/// A header row and aligned columns, three spaces apart, like the seed's `NAME   ENDPOINTS`.
class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  void add(std::vector<std::string> row);
  std::string render(bool with_header = true) const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace prisn::cli
