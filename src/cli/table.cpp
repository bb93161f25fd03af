// SPDX-License-Identifier: MIT
#include "cli/table.hpp"

#include <algorithm>
#include <iostream>

namespace prisn::cli {
namespace {

// Display width: UTF-8 continuation bytes take no column.
std::size_t width(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

}  // namespace

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::add(std::vector<std::string> row) {
  row.resize(headers_.size());
  rows_.push_back(std::move(row));
}

void Table::at_least(const std::vector<std::string>& cells) {
  min_widths_.resize(std::max(min_widths_.size(), cells.size()), 0);
  for (std::size_t c = 0; c < cells.size(); ++c) min_widths_[c] = std::max(min_widths_[c], width(cells[c]));
}

std::string Table::render(bool with_header) const {
  std::vector<std::size_t> widths(headers_.size(), 0);
  for (std::size_t c = 0; c < headers_.size(); ++c) {
    widths[c] = std::max(width(headers_[c]), c < min_widths_.size() ? min_widths_[c] : 0);
    for (const auto& r : rows_) widths[c] = std::max(widths[c], width(r[c]));
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      l += cells[c];
      if (c + 1 < cells.size()) l += std::string(widths[c] - width(cells[c]) + 3, ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  if (with_header) line(headers_);
  for (const auto& r : rows_) line(r);
  return out;
}

void print_table(const Table& table, std::string_view none) {
  std::cout << table.render() << std::flush;
  if (table.empty()) std::cerr << none << "\n";
}

}  // namespace prisn::cli
