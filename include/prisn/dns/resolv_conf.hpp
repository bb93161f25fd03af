// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace prisn::dns {

/// The parts of resolv.conf(5) prisn uses: where to forward, and what workloads keep.
struct ResolvConf {
  std::vector<std::string> nameservers;  ///< in file order, as written ("10.0.0.1", "::1")
  /// The search list: of the last "search" or "domain" line, which wins (resolv.conf(5)).
  std::vector<std::string> search;
  std::vector<std::string> option_lines; ///< "options ..." lines, verbatim
};

ResolvConf parse_resolv_conf(std::string_view text);

/// The resolv.conf a workload sees: prisn DNS as its only nameserver; a search list of
/// `search_first` (its namespace's domains, so `api` and `api.default` resolve, as in a
/// Kubernetes pod) then the node's; the node's options lines kept.
std::string render_workload_resolv_conf(const ResolvConf& node, const std::string& nameserver,
                                        const std::vector<std::string>& search_first = {});

}  // namespace prisn::dns
