// SPDX-License-Identifier: MIT
// Which clients may use prisn DNS as their resolver: loopback and the node's own networks.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <vector>

namespace prisn::dns::detail {

/// The node's interface networks (getifaddrs), re-read at most once a second when a client is
/// not found in them, so a network added after start (prisn0, a VPN) is picked up before
/// its first workloads ask.
/// Thread: the DNS thread.
class LocalNetworks {
 public:
  LocalNetworks();
  bool contains(const boost::asio::ip::address& client);

 private:
  struct Net {
    boost::asio::ip::address address;
    unsigned prefix = 0;
  };
  void refresh();
  static bool in(const Net& net, const boost::asio::ip::address& a);

  std::vector<Net> nets_;
  std::chrono::steady_clock::time_point read_at_{};
};

}  // namespace prisn::dns::detail
