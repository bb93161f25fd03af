// SPDX-License-Identifier: MIT
#include "prisn/store/secret_box.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>

#include <memory>

#include "prisn/core/files.hpp"
#include "prisn/core/random.hpp"

namespace prisn::store {
namespace {

constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

CipherCtx new_ctx() { return CipherCtx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free); }

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

Result<SecretBox> SecretBox::load_or_create(const std::filesystem::path& key_file) {
  auto existing = read_file(key_file);
  if (existing) {
    if (existing->size() != 32) {
      return Error::internal(key_file.string() + ": expected a 32-byte key, found " +
                             std::to_string(existing->size()) + " bytes");
    }
    ::chmod(key_file.c_str(), 0600);
    SecretBox box;
    std::copy(existing->begin(), existing->end(), box.key_.begin());
    return box;
  }
  if (existing.error().kind != Error::Kind::kNotFound) {
    return existing.error();
  }
  SecretBox box;
  random_bytes(box.key_.data(), box.key_.size());
  const std::string_view raw(reinterpret_cast<const char*>(box.key_.data()), box.key_.size());
  if (auto written = write_file_atomic(key_file, raw, 0600); !written) {
    return written.error();
  }
  return box;
}

SecretBox SecretBox::from_key(const std::array<unsigned char, 32>& key) {
  SecretBox box;
  box.key_ = key;
  return box;
}

Result<std::string> SecretBox::seal(std::string_view plaintext, std::string_view associated) const {
  std::string out(kNonceSize + plaintext.size() + kTagSize, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  random_bytes(nonce, kNonceSize);
  auto ctx = new_ctx();
  int len = 0;
  auto* cipher = nonce + kNonceSize;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(associated), static_cast<int>(associated.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), cipher, &len, bytes(plaintext), static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), cipher + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, cipher + plaintext.size()) != 1) {
    return Error::internal("secret encryption failed");
  }
  return out;
}

Result<std::string> SecretBox::open(std::string_view sealed, std::string_view associated) const {
  if (sealed.size() < kNonceSize + kTagSize) {
    return Error::internal("stored secret is truncated");
  }
  const std::size_t body = sealed.size() - kNonceSize - kTagSize;
  std::string out(body, '\0');
  std::string tag(sealed.substr(kNonceSize + body));
  auto ctx = new_ctx();
  int len = 0;
  auto* plain = reinterpret_cast<unsigned char*>(out.data());
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), bytes(sealed)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(associated), static_cast<int>(associated.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), plain, &len, bytes(sealed) + kNonceSize, static_cast<int>(body)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), plain + len, &len) != 1) {
    return Error::internal("stored secret failed authentication (wrong key or corrupted data)");
  }
  return out;
}

std::string SecretBox::derive_key(std::string_view purpose) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  const std::string label = "prisn derived key: " + std::string(purpose);
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), bytes(label), label.size(), out, &length);
  return std::string(reinterpret_cast<const char*>(out), length);
}

}  // namespace prisn::store
