// SPDX-License-Identifier: MIT
// Building DNS queries for tests with prisn's own codec (the codec has its own round-trip tests).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "prisn/dns/codec.hpp"

namespace prisn::test {

inline std::vector<std::uint8_t> query_wire(const std::string& name, std::uint16_t type = dns::type::kA,
                                            bool edns = false, std::uint16_t udp_size = 1232, std::uint16_t id = 0x1234) {
  dns::Message m;
  m.id = id;
  m.rd = true;
  m.questions.push_back({*dns::Name::from_text(name), type, dns::kClassIn});
  if (edns) m.edns = dns::Edns{.udp_size = udp_size};
  std::vector<std::uint8_t> wire;
  dns::serialize(m, wire);
  return wire;
}

inline dns::Message parsed(const std::vector<std::uint8_t>& wire) {
  auto m = dns::parse(wire);
  if (!m) throw std::runtime_error("reply does not parse: " + m.error().message());
  return *m;
}

}  // namespace prisn::test
