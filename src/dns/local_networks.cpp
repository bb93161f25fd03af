// SPDX-License-Identifier: MIT
#include "dns/local_networks.hpp"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <bit>
#include <cstring>

namespace prisn::dns::detail {
namespace ip = boost::asio::ip;

namespace {

unsigned prefix_of(const std::uint8_t* mask, std::size_t n) {
  unsigned bits = 0;
  for (std::size_t i = 0; i < n; ++i) bits += static_cast<unsigned>(std::popcount(mask[i]));
  return bits;
}

// Compares the first `prefix` bits of two byte strings.
bool same_prefix(const std::uint8_t* a, const std::uint8_t* b, unsigned prefix) {
  const unsigned whole = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

LocalNetworks::LocalNetworks() { refresh(); }

void LocalNetworks::refresh() {
  read_at_ = std::chrono::steady_clock::now();
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return;  // keep what we had
  nets_.clear();
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_netmask == nullptr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      const auto* m = reinterpret_cast<const sockaddr_in*>(i->ifa_netmask);
      ip::address_v4::bytes_type bytes;
      std::memcpy(bytes.data(), &a->sin_addr, 4);
      nets_.push_back({ip::address_v4(bytes), prefix_of(reinterpret_cast<const std::uint8_t*>(&m->sin_addr), 4)});
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      const auto* m = reinterpret_cast<const sockaddr_in6*>(i->ifa_netmask);
      ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), &a->sin6_addr, 16);
      nets_.push_back({ip::address_v6(bytes), prefix_of(reinterpret_cast<const std::uint8_t*>(&m->sin6_addr), 16)});
    }
  }
  ::freeifaddrs(list);
}

bool LocalNetworks::in(const Net& net, const ip::address& a) {
  if (net.address.is_v4() && a.is_v4()) {
    return same_prefix(net.address.to_v4().to_bytes().data(), a.to_v4().to_bytes().data(), net.prefix);
  }
  if (net.address.is_v6() && a.is_v6()) {
    return same_prefix(net.address.to_v6().to_bytes().data(), a.to_v6().to_bytes().data(), net.prefix);
  }
  return false;
}

bool LocalNetworks::contains(const ip::address& client) {
  ip::address a = client;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = ip::make_address_v4(ip::v4_mapped, a.to_v6());
  if (a.is_loopback()) return true;
  for (const auto& net : nets_) {
    if (in(net, a)) return true;
  }
  if (std::chrono::steady_clock::now() - read_at_ < std::chrono::seconds(1)) return false;
  refresh();
  for (const auto& net : nets_) {
    if (in(net, a)) return true;
  }
  return false;
}

}  // namespace prisn::dns::detail
