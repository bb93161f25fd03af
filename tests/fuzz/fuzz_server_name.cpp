// SPDX-License-Identifier: MIT
// A ClientHello's server_name extension is untrusted: any bytes must give a name that lies
// within them, or none, and never read past their end.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proxy/server_name.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (const auto name = prisn::proxy::detail::host_name_in_server_name_extension(bytes)) {
    if (name->empty() || name->data() < bytes.data() || name->data() + name->size() > bytes.data() + bytes.size()) {
      std::abort();
    }
  }
  return 0;
}
