// SPDX-License-Identifier: MIT
// The cryptography ACME needs (RFC 8555, RFC 7515, RFC 7638), over OpenSSL: P-256 keys,
// JWS with ES256, JWK thumbprints, CSRs and certificate expiry. Sans-IO.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "prisn/core/error.hpp"
#include "prisn/core/time.hpp"
#include "prisn/model/json.hpp"

namespace prisn::acme {

/// An ECDSA P-256 key pair.
class Key {
 public:
  static Result<Key> generate();
  static Result<Key> from_pem(const std::string& pem);
  Key(Key&&) noexcept;
  Key& operator=(Key&&) noexcept;
  ~Key();

  std::string pem() const;  ///< the private key, PKCS#8 PEM
  /// The public key as a JWK: {"crv": "P-256", "kty": "EC", "x", "y"} (RFC 7518 §6.2.1).
  model::Json jwk() const;
  /// base64url(SHA-256 of the JWK's canonical JSON) (RFC 7638): the account's thumbprint.
  std::string thumbprint() const;
  /// An ES256 signature of `data`: r || s, 64 bytes (RFC 7518 §3.4).
  Result<std::string> sign(std::string_view data) const;
  /// A DER certificate signing request for `host` (CN and subjectAltName DNS:host).
  Result<std::string> csr(const std::string& host) const;

  struct Impl;

 private:
  explicit Key(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// A flattened JWS (RFC 7515 §7.2.2) of `payload` (empty = POST-as-GET) for `url`, signed by
/// `key`, with the account URL as `kid` or, when `kid` is empty, the key itself as `jwk`.
Result<model::Json> sign_jws(const Key& key, const std::string& kid, const std::string& nonce, const std::string& url,
                             const std::string& payload);

/// The notAfter time of the first certificate of a PEM chain.
std::optional<WallTime> certificate_expiry(const std::string& pem);

}  // namespace prisn::acme
