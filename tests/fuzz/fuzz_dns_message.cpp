// SPDX-License-Identifier: MIT
// Any bytes from the network: parse() must never crash or read out of bounds, and what it
// parses must survive serialize → parse unchanged, compressed or not.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "prisn/dns/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace prisn::dns;
  auto msg = parse(std::span(data, size));
  if (!msg) {
    return 0;
  }
  for (bool compress : {true, false}) {
    std::vector<std::uint8_t> wire;
    if (!serialize(*msg, wire, {.compress = compress})) {
      continue;  // larger than 65535 bytes uncompressed: nothing to compare
    }
    auto again = parse(wire);
    if (!again || !(*again == *msg)) {
      std::abort();  // round-trip property
    }
  }
  return 0;
}
