// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace prisn::cli {

/// A header row and aligned columns, three spaces apart, like the seed's `NAME   ENDPOINTS`.
class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  void add(std::vector<std::string> row);
  /// Makes each column at least as wide as the cell given for it (rows printed earlier, or
  /// later, line up with this table's).
  void at_least(const std::vector<std::string>& cells);
  std::string render(bool with_header = true) const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<std::size_t> min_widths_;
};

/// Prints `table` on stdout with its header row, even when it has no rows (SPEC §5: tables
/// have a header row); an empty one is followed by `none` on stderr ("No deployments in
/// namespace default."), where a script reading stdout does not take it for a row.
void print_table(const Table& table, std::string_view none);

}  // namespace prisn::cli
