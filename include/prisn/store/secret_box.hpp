// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <string_view>

#include "prisn/core/error.hpp"

namespace prisn::store {

/// AES-256-GCM sealing of secret values at rest (OpenSSL). The 32-byte key lives in its own
/// file (mode 0600), never in the database. Each seal uses a fresh random 96-bit nonce; the
/// associated data binds a ciphertext to its secret's identity, so a ciphertext moved to
/// another row, or changed by one byte, fails to open instead of yielding garbage.
/// Thread-compatible: a const SecretBox may be used from several threads.
class SecretBox {
 public:
  /// Reads `key_file`, creating it with a new random key (mode 0600) when absent.
  static Result<SecretBox> load_or_create(const std::filesystem::path& key_file);
  /// A box with a given key (tests).
  static SecretBox from_key(const std::array<unsigned char, 32>& key);

  /// nonce (12 bytes) || ciphertext || tag (16 bytes).
  Result<std::string> seal(std::string_view plaintext, std::string_view associated) const;
  Result<std::string> open(std::string_view sealed, std::string_view associated) const;
  /// A 32-byte key for another use (`purpose`, e.g. "affinity-cookie"): HMAC-SHA256 of the
  /// purpose under the box's key. It lasts as long as the key file, and knowing it reveals
  /// neither the box's key nor another purpose's key.
  std::string derive_key(std::string_view purpose) const;

 private:
  std::array<unsigned char, 32> key_{};
};

}  // namespace prisn::store
