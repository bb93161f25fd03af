// SPDX-License-Identifier: MIT
#include "proxy/server_name.hpp"

#include <cstdint>

namespace prisn::proxy::detail {
namespace {

std::size_t u16(std::string_view bytes, std::size_t at) {
  return (static_cast<std::size_t>(static_cast<std::uint8_t>(bytes[at])) << 8) |
         static_cast<std::uint8_t>(bytes[at + 1]);
}

}  // namespace

std::optional<std::string_view> host_name_in_server_name_extension(std::string_view body) {
  constexpr std::uint8_t kHostName = 0;
  if (body.size() < 2 || u16(body, 0) != body.size() - 2) return std::nullopt;
  for (std::size_t at = 2; at + 3 <= body.size();) {
    const auto type = static_cast<std::uint8_t>(body[at]);
    const std::size_t length = u16(body, at + 1);
    at += 3;
    if (length > body.size() - at) return std::nullopt;
    if (type == kHostName) return length == 0 ? std::nullopt : std::optional(body.substr(at, length));
    at += length;
  }
  return std::nullopt;
}

}  // namespace prisn::proxy::detail
