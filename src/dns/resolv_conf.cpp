// SPDX-License-Identifier: MIT
#include "prisn/dns/resolv_conf.hpp"

#include <algorithm>
#include <sstream>

namespace prisn::dns {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

ResolvConf parse_resolv_conf(std::string_view text) {
  ResolvConf out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line = trim(text.substr(start, end - start));
    start = end + 1;
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    const std::size_t space = line.find_first_of(" \t");
    const std::string_view keyword = line.substr(0, space);
    const std::string_view rest = space == std::string_view::npos ? std::string_view() : trim(line.substr(space));
    if (keyword == "nameserver" && !rest.empty()) {
      out.nameservers.emplace_back(rest.substr(0, rest.find_first_of(" \t#;")));
    } else if (keyword == "search" || keyword == "domain") {
      out.search.clear();
      std::istringstream domains{std::string(rest)};
      for (std::string domain; domains >> domain && domain.front() != '#' && domain.front() != ';';) {
        out.search.push_back(std::move(domain));
      }
    } else if (keyword == "options") {
      out.option_lines.emplace_back(line);
    }
  }
  return out;
}

std::string render_workload_resolv_conf(const ResolvConf& node, const std::string& nameserver,
                                        const std::vector<std::string>& search_first) {
  std::ostringstream out;
  out << "# written by prisnd: workloads resolve through prisn DNS\n";
  out << "nameserver " << nameserver << "\n";
  std::vector<std::string> search = search_first;
  for (const auto& domain : node.search) {
    if (std::find(search.begin(), search.end(), domain) == search.end()) search.push_back(domain);
  }
  if (!search.empty()) {
    out << "search";
    for (const auto& domain : search) out << " " << domain;
    out << "\n";
  }
  for (const auto& line : node.option_lines) out << line << "\n";
  return out.str();
}

}  // namespace prisn::dns
