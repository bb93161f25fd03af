// SPDX-License-Identifier: MIT
// HPACK blocks are untrusted: decoding any bytes must never crash, the dynamic table must
// stay within its announced size, and what the encoder writes must decode to what it was given.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/hpack.hpp"

namespace {

namespace hpack = prisn::proxy::detail::hpack;

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  // The input as two blocks on one connection: the second sees what the first left in the table.
  hpack::Decoder decoder(256);
  std::vector<hpack::Header> headers;
  const std::size_t half = size / 2;
  if (decoder.decode(bytes.substr(0, half), headers)) decoder.decode(bytes.substr(half), headers);
  check(decoder.table_size() <= 256);
  std::string decoded;
  if (hpack::huffman_decode(bytes, decoded)) {
    std::string again;
    check(hpack::huffman_decode(hpack::huffman_encode(decoded), again) && again == decoded);
  }
  // Whatever was decoded, encoded again, decodes the same.
  std::string block;
  for (const auto& h : headers) hpack::encode(block, h.name, h.value);
  hpack::Decoder fresh;
  std::vector<hpack::Header> round;
  check(fresh.decode(block, round) && round == headers);
  return 0;
}
