// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "prisn/core/error.hpp"

namespace prisn::network {

/// An IPv4 network in CIDR form (`network.subnet`, SPEC §2): the node's bridge holds the
/// first host address as the gateway; instances get the others.
struct Subnet {
  std::uint32_t network = 0;  ///< host byte order, host bits zero
  int prefix = 0;

  /// "10.209.0.0/16". Host bits must be zero and the prefix 8..30, so that there is room
  /// for a gateway and at least one instance.
  static Result<Subnet> parse(std::string_view cidr);

  std::uint32_t gateway() const { return network + 1; }
  std::uint32_t broadcast() const { return network | ~mask(); }
  std::uint32_t mask() const { return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix); }
  bool contains(std::uint32_t address) const { return (address & mask()) == network; }
  std::string cidr() const;  ///< "10.209.0.0/16"
};

/// Dotted quad of a host-byte-order address, and back.
std::string format_ipv4(std::uint32_t address);
Result<std::uint32_t> parse_ipv4(std::string_view text);

/// The instance addresses of a subnet: the lowest free one is handed out first, so that a
/// small deployment's addresses are easy to read (.2, .3, ...). A released address rests for
/// kRest before it is handed out again while others are free: the node and the other
/// instances still hold its old MAC address in their neighbour caches for a while, and a new
/// instance behind it would be unreachable until those entries expire.
/// Thread: one owner.
class AddressPool {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kRest{60};

  explicit AddressPool(Subnet subnet) : subnet_(subnet) {}
  /// The lowest free instance address (one that is not resting, if there is one); an error
  /// when the subnet is full.
  Result<std::uint32_t> allocate(Clock::time_point now = Clock::now());
  /// Marks an address in use (an instance re-adopted after a restart). False when it is
  /// outside the instance range or already taken.
  bool reserve(std::uint32_t address);
  void release(std::uint32_t address, Clock::time_point now = Clock::now());
  std::size_t in_use() const { return used_.size(); }

 private:
  std::optional<std::uint32_t> lowest_free(Clock::time_point now, bool skip_resting) const;

  Subnet subnet_;
  std::set<std::uint32_t> used_;
  std::map<std::uint32_t, Clock::time_point> released_;  ///< address → when it was released
};

}  // namespace prisn::network
