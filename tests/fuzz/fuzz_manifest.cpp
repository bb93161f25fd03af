// SPDX-License-Identifier: MIT
// Manifests come from API clients (POST /api/v1/apply): parsing and validating any bytes must
// never crash, hang or exhaust the stack (yaml-cpp recurses per nesting level).
#include <cstdint>
#include <string_view>

#include "prisn/manifest/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto docs = prisn::manifest::parse(text);
  if (!docs) return 0;
  (void)prisn::manifest::decode(*docs, "", {{"api.py", "print(1)\n"}});
  (void)prisn::manifest::referenced_files(*docs);
  return 0;
}
