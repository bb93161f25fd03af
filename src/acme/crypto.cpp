// SPDX-License-Identifier: MIT
#include "prisn/acme/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include "prisn/core/base64.hpp"

namespace prisn::acme {
namespace {

std::string openssl_error(std::string_view what) {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  char buf[256] = "unknown error";
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  return fmt::format("{}: {}", what, buf);
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string big_endian(const BIGNUM* n, int size) {
  std::string out(static_cast<std::size_t>(size), '\0');
  BN_bn2binpad(n, reinterpret_cast<unsigned char*>(out.data()), size);
  return out;
}

std::string sha256(std::string_view data) {
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), n);
}

}  // namespace

struct Key::Impl {
  EVP_PKEY* pkey = nullptr;
  ~Impl() { EVP_PKEY_free(pkey); }
};

Key::Key(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Key::Key(Key&&) noexcept = default;
Key& Key::operator=(Key&&) noexcept = default;
Key::~Key() = default;

Result<Key> Key::generate() {
  auto impl = std::make_unique<Impl>();
  impl->pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (impl->pkey == nullptr) return Error::internal(openssl_error("generating a P-256 key"));
  return Key(std::move(impl));
}

Result<Key> Key::from_pem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  auto impl = std::make_unique<Impl>();
  impl->pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (impl->pkey == nullptr) return Error::invalid(openssl_error("reading a private key"));
  if (EVP_PKEY_get_base_id(impl->pkey) != EVP_PKEY_EC) return Error::invalid("the key is not an EC key");
  return Key(std::move(impl));
}

std::string Key::pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, impl_->pkey, nullptr, nullptr, 0, nullptr, nullptr);
  std::string out = bio_text(bio);
  BIO_free(bio);
  return out;
}

model::Json Key::jwk() const {
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  EVP_PKEY_get_bn_param(impl_->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x);
  EVP_PKEY_get_bn_param(impl_->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
  model::Json out = {{"crv", "P-256"}, {"kty", "EC"}, {"x", base64url_encode(big_endian(x, 32))},
                     {"y", base64url_encode(big_endian(y, 32))}};
  BN_free(x);
  BN_free(y);
  return out;
}

std::string Key::thumbprint() const {
  // nlohmann's objects keep keys sorted and dump() adds no whitespace: the canonical form.
  return base64url_encode(sha256(jwk().dump()));
}

Result<std::string> Key::sign(std::string_view data) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t len = 0;
  std::string der;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, impl_->pkey) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  if (ok) {
    der.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &len,
                        reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
    der.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return Error::internal(openssl_error("signing"));
  // OpenSSL gives DER (SEQUENCE of r, s); JWS wants the two 32-byte integers side by side.
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (sig == nullptr) return Error::internal(openssl_error("decoding a signature"));
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  std::string out = big_endian(r, 32) + big_endian(s, 32);
  ECDSA_SIG_free(sig);
  return out;
}

Result<std::string> Key::csr(const std::string& host) const {
  X509_REQ* req = X509_REQ_new();
  X509_NAME* name = X509_NAME_new();
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(host.c_str()), -1, -1, 0);
  X509_REQ_set_subject_name(req, name);
  X509_REQ_set_pubkey(req, impl_->pkey);
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  const std::string san = "DNS:" + host;
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
  sk_X509_EXTENSION_push(exts, ext);
  X509_REQ_add_extensions(req, exts);
  const bool signed_ok = X509_REQ_sign(req, impl_->pkey, EVP_sha256()) > 0;
  std::string der;
  if (signed_ok) {
    const int n = i2d_X509_REQ(req, nullptr);
    der.resize(static_cast<std::size_t>(std::max(n, 0)));
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    i2d_X509_REQ(req, &out);
  }
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_NAME_free(name);
  X509_REQ_free(req);
  if (!signed_ok || der.empty()) return Error::internal(openssl_error("making a certificate request"));
  return der;
}

Result<model::Json> sign_jws(const Key& key, const std::string& kid, const std::string& nonce, const std::string& url,
                             const std::string& payload) {
  model::Json header = {{"alg", "ES256"}, {"nonce", nonce}, {"url", url}};
  if (kid.empty()) header["jwk"] = key.jwk();
  else header["kid"] = kid;
  const std::string protected_b64 = base64url_encode(header.dump());
  const std::string payload_b64 = payload.empty() ? std::string() : base64url_encode(payload);
  auto sig = key.sign(protected_b64 + "." + payload_b64);
  if (!sig) return sig.error();
  return model::Json{{"protected", protected_b64}, {"payload", payload_b64}, {"signature", base64url_encode(*sig)}};
}

std::optional<WallTime> certificate_expiry(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) {
    ERR_clear_error();
    return std::nullopt;
  }
  std::tm tm{};
  const bool ok = ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1;
  X509_free(cert);
  if (!ok) return std::nullopt;
  return WallClock::from_time_t(timegm(&tm));
}

}  // namespace prisn::acme
