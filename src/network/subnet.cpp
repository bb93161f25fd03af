// SPDX-License-Identifier: MIT
#include "prisn/network/subnet.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <fmt/format.h>

namespace prisn::network {

std::string format_ipv4(std::uint32_t address) {
  return fmt::format("{}.{}.{}.{}", address >> 24, (address >> 16) & 0xff, (address >> 8) & 0xff, address & 0xff);
}

Result<std::uint32_t> parse_ipv4(std::string_view text) {
  const std::string copy(text);
  in_addr addr{};
  if (::inet_pton(AF_INET, copy.c_str(), &addr) != 1) {
    return Error::invalid(fmt::format("'{}' is not an IPv4 address", text));
  }
  return ntohl(addr.s_addr);
}

Result<Subnet> Subnet::parse(std::string_view cidr) {
  const auto slash = cidr.find('/');
  if (slash == std::string_view::npos) {
    return Error::invalid(fmt::format("subnet '{}': expected ADDRESS/PREFIX, such as 10.209.0.0/16", cidr));
  }
  auto address = parse_ipv4(cidr.substr(0, slash));
  if (!address) {
    return Error::invalid(fmt::format("subnet '{}': {}", cidr, address.error().message));
  }
  const auto digits = cidr.substr(slash + 1);
  int prefix = -1;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
  if (ec != std::errc() || end != digits.data() + digits.size() || prefix < 8 || prefix > 30) {
    return Error::invalid(fmt::format("subnet '{}': the prefix length must be 8 to 30", cidr));
  }
  Subnet s{*address, prefix};
  if ((s.network & ~s.mask()) != 0) {
    return Error::invalid(fmt::format("subnet '{}': host bits are set (did you mean {}?)", cidr,
                                      Subnet{s.network & s.mask(), prefix}.cidr()));
  }
  return s;
}

std::string Subnet::cidr() const { return fmt::format("{}/{}", format_ipv4(network), prefix); }

std::optional<std::uint32_t> AddressPool::lowest_free(Clock::time_point now, bool skip_resting) const {
  for (std::uint32_t candidate = subnet_.gateway() + 1; candidate < subnet_.broadcast(); ++candidate) {
    if (used_.contains(candidate)) continue;
    if (skip_resting) {
      auto it = released_.find(candidate);
      if (it != released_.end() && now - it->second < kRest) continue;
    }
    return candidate;
  }
  return std::nullopt;
}

Result<std::uint32_t> AddressPool::allocate(Clock::time_point now) {
  // A walk from the bottom: it passes as many addresses as run or rest, once per start.
  auto found = lowest_free(now, /*skip_resting=*/true);
  if (!found) found = lowest_free(now, /*skip_resting=*/false);
  if (!found) {
    return Error::unavailable(fmt::format("subnet {} has no free address left", subnet_.cidr()));
  }
  used_.insert(*found);
  released_.erase(*found);
  return *found;
}

void AddressPool::release(std::uint32_t address, Clock::time_point now) {
  if (used_.erase(address) == 0) return;
  released_[address] = now;
  std::erase_if(released_, [&](const auto& entry) { return now - entry.second >= kRest; });
}

bool AddressPool::reserve(std::uint32_t address) {
  if (!subnet_.contains(address) || address <= subnet_.gateway() || address >= subnet_.broadcast()) {
    return false;
  }
  return used_.insert(address).second;
}

}  // namespace prisn::network
