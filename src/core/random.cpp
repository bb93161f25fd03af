// SPDX-License-Identifier: MIT
#include "prisn/core/random.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

namespace prisn {

void random_bytes(void* out, std::size_t n) {
  auto* p = static_cast<unsigned char*>(out);
  while (n > 0) {
    const ssize_t got = getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      std::abort();  // no entropy source: nothing secure can be produced
    }
    p += got;
    n -= static_cast<std::size_t>(got);
  }
}

std::string random_hex(std::size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::vector<unsigned char> raw(bytes);
  random_bytes(raw.data(), raw.size());
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char b : raw) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

}  // namespace prisn
