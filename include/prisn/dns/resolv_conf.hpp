// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace prisn::dns {

/// The parts of resolv.conf(5) prisn uses: where to forward, and what workloads keep.
struct ResolvConf {
  std::vector<std::string> nameservers;  ///< in file order, as written ("10.0.0.1", "::1")
  std::vector<std::string> search_lines; ///< "search ..." and "domain ..." lines, verbatim
  std::vector<std::string> option_lines; ///< "options ..." lines, verbatim
};

ResolvConf parse_resolv_conf(std::string_view text);

/// The resolv.conf a workload sees: prisn DNS as its only nameserver, the node's search and
/// options lines kept.
std::string render_workload_resolv_conf(const ResolvConf& node, const std::string& nameserver);

}  // namespace prisn::dns
