// SPDX-License-Identifier: MIT
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "prisn/core/error.hpp"

namespace boost::asio::ssl {
class context;
}

namespace prisn::proxy {

/// A certificate and its key, PEM, with the hosts it is for.
struct Certificate {
  std::string source;  ///< for messages: "config file", "secret default/api-tls", "acme api.example.com"
  std::string cert_pem;  ///< the certificate, then its chain
  std::string key_pem;
  /// Hosts ("api.example.com", "*.example.com") it is chosen for by SNI; empty = the names in
  /// the certificate itself (subjectAltName DNS entries, else the CN).
  std::vector<std::string> hosts;
  /// Set when the source holds no usable pair ("needs the keys tls.crt and tls.key"): it is
  /// reported as a pair that does not load, and what loaded from the source before stays.
  std::string problem;
};

/// Whether `c` loads as a TLS server certificate and key; the error says why not, as
/// TlsStore::load() words it.
Result<void> check_certificate(const Certificate& c);

/// The certificates the HTTPS listener chooses from by SNI (SPEC §7.5): an exact host first,
/// then a `*.` wildcard, then the default (the config file's certificate, else the first).
/// TLS 1.2 and 1.3 only, Mozilla's "intermediate" ciphers, ALPN h2, else http/1.1. load() swaps the
/// whole set: handshakes in progress keep the set they started with, open connections are
/// untouched. Thread-safe: the control thread loads, the router's workers handshake.
class TlsStore {
 public:
  TlsStore();
  ~TlsStore();
  TlsStore(const TlsStore&) = delete;
  TlsStore& operator=(const TlsStore&) = delete;

  /// Replaces the set. A certificate that does not load (bad PEM, key not matching) is left
  /// out, unless its source (Certificate::source) loaded before: that earlier one then stays.
  /// The messages say which and why. `default_cert` serves clients without a matching SNI.
  std::vector<std::string> load(const std::vector<Certificate>& certs, const Certificate* default_cert);
  /// How many certificates are loaded (0: handshakes fail).
  std::size_t size() const;
  /// The hosts of the loaded certificates, for `prisn proxy stats` and logs.
  std::vector<std::string> hosts() const;

  /// The context every handshake starts from; its SNI callback picks the certificate.
  boost::asio::ssl::context& context();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace prisn::proxy
