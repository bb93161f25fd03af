// SPDX-License-Identifier: MIT
#include "prisn/proxy/tls_store.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ssl/context.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>

#include "prisn/core/hash.hpp"
#include "prisn/proxy/route_table.hpp"
#include "proxy/server_name.hpp"

namespace prisn::proxy {
namespace ssl = boost::asio::ssl;

namespace {

// Mozilla's "intermediate" TLS 1.2 ciphers (TLS 1.3 suites are OpenSSL's defaults).
constexpr const char* kCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen, void*) {
  // HTTP/2 when the client offers it (the cipher list is AEAD with forward secrecy only, as
  // RFC 9113 §9.2.2 asks of TLS 1.2), else HTTP/1.1; a client offering neither gets no ALPN.
  static constexpr unsigned char kOurs[] = "\x02h2\x08http/1.1";
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, kOurs, sizeof kOurs - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

// An encrypted key is refused rather than asked for: without a callback, OpenSSL would prompt
// for its passphrase on the terminal and hold the loading thread until someone answers.
int no_passphrase(char*, int, int, void*) { return -1; }

void configure(SSL_CTX* ctx) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(ctx, kCiphers);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // Send the chain exactly as the certificate file gives it, as nginx does. Without this,
  // OpenSSL tries to complete a chain from the trust store on every handshake, verifying
  // signatures each time: a quarter more CPU per handshake for a certificate without one.
  SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
}

// The DNS names a certificate is for: subjectAltName entries, else the subject's CN.
std::vector<std::string> names_in(const std::string& pem) {
  std::vector<std::string> out;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
  if (cert != nullptr) {
    auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
      if (n->type == GEN_DNS) {
        const auto* s = n->d.dNSName;
        out.push_back(normalise_host(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                                      static_cast<std::size_t>(ASN1_STRING_length(s)))));
      }
    }
    GENERAL_NAMES_free(sans);
    if (out.empty()) {
      char cn[256] = {0};
      if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0) {
        out.push_back(normalise_host(cn));
      }
    }
    X509_free(cert);
  }
  BIO_free(bio);
  ERR_clear_error();
  return out;
}

struct CertSet {
  struct Loaded {
    std::shared_ptr<ssl::context> ctx;
    std::vector<std::string> hosts;
  };
  std::map<std::string, Loaded> by_source;  // Certificate::source → what loaded from it
  std::map<std::string, std::shared_ptr<ssl::context>, std::less<>> exact;
  std::map<std::string, std::shared_ptr<ssl::context>, std::less<>> wildcard;  // by suffix after "*."
  std::shared_ptr<ssl::context> fallback;
  std::size_t count = 0;
  std::vector<std::string> hosts;
};

std::shared_ptr<ssl::context> make_context(const Certificate& c, std::string& error) {
  if (!c.problem.empty()) {
    error = fmt::format("{}: {}", c.source, c.problem);
    return nullptr;
  }
  constexpr std::string_view kPem = "-----BEGIN ";
  if (c.cert_pem.find(kPem) == std::string::npos || c.key_pem.find(kPem) == std::string::npos) {
    error = fmt::format("{}: the {} is not in PEM form (-----BEGIN ...)", c.source,
                        c.cert_pem.find(kPem) == std::string::npos ? "certificate" : "key");
    return nullptr;
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  configure(ctx->native_handle());
  // A session belongs to the certificate it was made under: a client cannot resume it under
  // another name's certificate (RFC 6066 §3). The SNI callback's switch to this context
  // carries the id context over to the handshake.
  const std::uint64_t id = fnv1a64(c.source + "\n" + c.cert_pem);
  SSL_CTX_set_session_id_context(ctx->native_handle(), reinterpret_cast<const unsigned char*>(&id), sizeof id);
  boost::system::error_code ec;
  ctx->use_certificate_chain(boost::asio::buffer(c.cert_pem), ec);
  if (ec) {
    error = fmt::format("{}: the certificate does not load: {}", c.source, ec.message());
    ERR_clear_error();
    return nullptr;
  }
  ctx->use_private_key(boost::asio::buffer(c.key_pem), ssl::context::pem, ec);
  if (ec && c.key_pem.find("ENCRYPTED") != std::string::npos) {
    ERR_clear_error();
    error = fmt::format("{}: the key is encrypted; prisn needs it without a passphrase", c.source);
    return nullptr;
  }
  if (ec) {  // Asio took OpenSSL's reason off its queue into ec ("key values mismatch", say)
    error = fmt::format("{}: the key does not load or does not match the certificate: {}", c.source, ec.message());
    ERR_clear_error();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    error = fmt::format("{}: the key does not match the certificate", c.source);
    return nullptr;
  }
  return ctx;
}

}  // namespace

Result<void> check_certificate(const Certificate& c) {
  std::string error;
  if (!make_context(c, error)) return Error::invalid(error);
  return {};
}

struct TlsStore::Impl {
  ssl::context base{ssl::context::tls_server};
  mutable std::mutex mutex;
  std::shared_ptr<const CertSet> set = std::make_shared<CertSet>();

  std::shared_ptr<const CertSet> current() const {
    std::lock_guard lock(mutex);
    return set;
  }

  // The certificate for `name` (nullopt: no SNI): an exact host, a `*.` wildcard, else the default.
  static std::shared_ptr<ssl::context> choose(const CertSet& set, std::optional<std::string_view> name) {
    if (!name) return set.fallback;
    const std::string host = normalise_host(*name);
    if (auto it = set.exact.find(host); it != set.exact.end()) return it->second;
    if (const auto dot = host.find('.'); dot != std::string::npos) {
      if (auto w = set.wildcard.find(std::string_view(host).substr(dot + 1)); w != set.wildcard.end()) return w->second;
    }
    return set.fallback;
  }

  // OpenSSL's ClientHello callback: switch the handshake to the certificate for the name
  // asked. This early (before the SNI callback), the session the client offers is looked up
  // after the switch, so it resumes only under the certificate it was made with (RFC 6066 §3).
  static int on_client_hello(SSL* ssl, int* alert, void* arg) {
    const unsigned char* ext = nullptr;
    std::size_t length = 0;
    std::optional<std::string_view> name;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &length) == 1) {
      name = detail::host_name_in_server_name_extension({reinterpret_cast<const char*>(ext), length});
    }
    const auto chosen = choose(*static_cast<Impl*>(arg)->current(), name);
    if (!chosen) {
      *alert = SSL_AD_UNRECOGNIZED_NAME;
      return SSL_CLIENT_HELLO_ERROR;
    }
    SSL_set_SSL_CTX(ssl, chosen->native_handle());  // the SSL keeps its own reference
    return SSL_CLIENT_HELLO_SUCCESS;
  }

  // The SNI callback only acknowledges the name: the certificate was chosen above.
  static int acknowledge_server_name(SSL*, int*, void*) { return SSL_TLSEXT_ERR_OK; }
};

TlsStore::TlsStore() : impl_(std::make_unique<Impl>()) {
  SSL_CTX* base = impl_->base.native_handle();
  configure(base);
  SSL_CTX_set_client_hello_cb(base, &Impl::on_client_hello, impl_.get());
  SSL_CTX_set_tlsext_servername_callback(base, &Impl::acknowledge_server_name);
}

TlsStore::~TlsStore() = default;

std::vector<std::string> TlsStore::load(const std::vector<Certificate>& certs, const Certificate* default_cert) {
  std::vector<std::string> errors;
  const auto before = impl_->current();
  auto set = std::make_shared<CertSet>();
  auto add = [&](const Certificate& c) -> std::shared_ptr<ssl::context> {
    std::string error;
    CertSet::Loaded loaded{make_context(c, error), {}};
    if (loaded.ctx) {
      loaded.hosts = c.hosts.empty() ? names_in(c.cert_pem) : c.hosts;
    } else if (auto kept = before->by_source.find(c.source); kept != before->by_source.end()) {
      // A pair caught half-replaced (the certificate copied, not yet its key) must not take
      // the site down: what loaded from this source before serves until a pair loads.
      errors.push_back(error + "; the certificate loaded from it before stays in use");
      loaded = kept->second;
    } else {
      errors.push_back(error);
      return nullptr;
    }
    auto ctx = loaded.ctx;
    set->by_source[c.source] = loaded;
    ++set->count;
    for (const auto& h : loaded.hosts) {
      const std::string host = normalise_host(h);
      if (host.starts_with("*.")) set->wildcard.try_emplace(host.substr(2), ctx);
      else set->exact.try_emplace(host, ctx);
      set->hosts.push_back(host);
    }
    if (!set->fallback) set->fallback = ctx;
    return ctx;
  };
  if (default_cert != nullptr) {
    if (auto ctx = add(*default_cert)) set->fallback = ctx;
  }
  for (const auto& c : certs) add(c);
  std::lock_guard lock(impl_->mutex);
  impl_->set = std::move(set);
  return errors;
}

std::size_t TlsStore::size() const { return impl_->current()->count; }

std::vector<std::string> TlsStore::hosts() const { return impl_->current()->hosts; }

ssl::context& TlsStore::context() { return impl_->base; }

}  // namespace prisn::proxy
