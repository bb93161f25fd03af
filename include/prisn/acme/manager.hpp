// SPDX-License-Identifier: MIT
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "prisn/core/time.hpp"

namespace prisn::acme {

struct Options {
  std::string directory;  ///< the ACME directory URL
  std::string email;      ///< account contact (optional)
  std::string ca_file;    ///< a CA to trust for the ACME server besides the system's (test servers)
  std::filesystem::path dir;  ///< where the account key and certificates live (DATA_DIR/acme)
  std::chrono::hours renew_before{30 * 24};
};

/// Let's Encrypt's directories, for `tls.acme.staging`.
inline constexpr const char* kLetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory";
inline constexpr const char* kLetsEncryptStaging = "https://acme-staging-v02.api.letsencrypt.org/directory";

struct Issued {
  std::string host;
  std::string cert_pem;  ///< the certificate and its chain
  std::string key_pem;
  WallTime not_after{};
};

/// Obtains and renews certificates for ingress hosts with ACME (RFC 8555) and HTTP-01 (SPEC
/// §7.5): one account key per data directory, an order per host, the challenge's answer
/// served by the L7 router under /.well-known/acme-challenge/ (challenges()), the issued
/// certificate and key kept in `dir` (mode 0600) and handed to the HTTPS listener
/// (certificates()). Hosts are done one at a time; a failure is retried after 30 s, doubling
/// up to an hour; every 12 hours certificates within `renew_before` of expiry are renewed.
/// Thread: control thread (all calls and callbacks).
class Manager {
 public:
  /// `on_change` runs when challenges() or certificates() changed.
  Manager(boost::asio::any_io_executor executor, Options options, std::function<void()> on_change);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  /// Reads the account key (made on first use) and `ca_file`: an error here is a startup
  /// error, rather than a failure of every order later.
  Result<void> prepare();
  /// The hosts that should have a certificate; missing and expiring ones are obtained.
  void sync(std::vector<std::string> hosts);
  std::map<std::string, std::string> challenges() const;
  std::vector<Issued> certificates() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace prisn::acme
