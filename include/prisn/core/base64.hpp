// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace prisn {

/// Standard base64 (RFC 4648, with padding). Used for binary secret values, which JSON
/// strings cannot carry byte-exact. Hand-written: a dozen lines, and OpenSSL's encoder
/// lives in the one module (store) that may link it.
std::string base64_encode(std::string_view bytes);

/// base64url without padding (RFC 4648 §5), as JWS and ACME use it (RFC 7515 §2).
std::string base64url_encode(std::string_view bytes);

/// Strict decoding: nullopt on a character outside the alphabet, bad padding or length.
std::optional<std::string> base64_decode(std::string_view text);

/// True when `bytes` is valid UTF-8 (and so can travel in a JSON string unchanged).
bool is_valid_utf8(std::string_view bytes);

}  // namespace prisn
