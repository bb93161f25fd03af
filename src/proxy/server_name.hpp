// SPDX-License-Identifier: MIT
// The host name a TLS ClientHello asks for, read from its server_name extension (private to
// prisn_proxy), sans-IO.
#pragma once

#include <optional>
#include <string_view>

namespace prisn::proxy::detail {

/// The host_name entry of a server_name extension's body (RFC 6066 §3: a 2-byte list length,
/// then entries of a 1-byte type and a 2-byte-length name), or nullopt when the body is
/// malformed or names no host. Written by hand: OpenSSL hands the extension over only as
/// bytes this early in the handshake, before the session is looked up.
std::optional<std::string_view> host_name_in_server_name_extension(std::string_view body);

}  // namespace prisn::proxy::detail
