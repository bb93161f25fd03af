// SPDX-License-Identifier: MIT
#include "prisn/acme/crypto.hpp"

#include <gtest/gtest.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "prisn/core/base64.hpp"

namespace prisn::acme {
namespace {

std::string b64url_decode(std::string s) {
  for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (s.size() % 4) s.push_back('=');
  return base64_decode(s).value_or("");
}

// Checks an r||s ES256 signature with OpenSSL, independently of Key::sign.
bool verifies(const Key& key, const std::string& data, const std::string& sig) {
  const std::string pem = key.pem();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ECDSA_SIG* es = ECDSA_SIG_new();
  ECDSA_SIG_set0(es, BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr),
                 BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(es, &der);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
                  EVP_DigestVerify(ctx, der, static_cast<std::size_t>(der_len),
                                   reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  ECDSA_SIG_free(es);
  EVP_PKEY_free(pkey);
  return ok;
}

TEST(AcmeCrypto, KeysRoundTripThroughPem) {
  auto key = Key::generate();
  ASSERT_TRUE(key);
  auto again = Key::from_pem(key->pem());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->jwk(), key->jwk());
  EXPECT_EQ(again->thumbprint(), key->thumbprint());
  EXPECT_FALSE(Key::from_pem("not a key"));
}

TEST(AcmeCrypto, JwkAndThumbprintHaveTheRfcShape) {
  auto key = Key::generate();
  const auto jwk = key->jwk();
  EXPECT_EQ(jwk["kty"], "EC");
  EXPECT_EQ(jwk["crv"], "P-256");
  EXPECT_EQ(b64url_decode(jwk["x"].get<std::string>()).size(), 32U);
  EXPECT_EQ(key->thumbprint().size(), 43U);  // base64url of 32 bytes, no padding
  EXPECT_EQ(key->thumbprint().find_first_of("+/="), std::string::npos);
}

TEST(AcmeCrypto, JwsIsFlattenedAndVerifies) {
  auto key = Key::generate();
  auto jws = sign_jws(*key, "", "nonce-1", "https://acme.test/new-acct", R"({"termsOfServiceAgreed":true})");
  ASSERT_TRUE(jws);
  const auto header = model::Json::parse(b64url_decode((*jws)["protected"].get<std::string>()));
  EXPECT_EQ(header["alg"], "ES256");
  EXPECT_EQ(header["nonce"], "nonce-1");
  EXPECT_EQ(header["url"], "https://acme.test/new-acct");
  EXPECT_EQ(header["jwk"], key->jwk());
  const std::string signing_input = (*jws)["protected"].get<std::string>() + "." + (*jws)["payload"].get<std::string>();
  const std::string sig = b64url_decode((*jws)["signature"].get<std::string>());
  ASSERT_EQ(sig.size(), 64U);
  EXPECT_TRUE(verifies(*key, signing_input, sig));
  EXPECT_FALSE(verifies(*key, signing_input + "x", sig));
  auto get = sign_jws(*key, "https://acme.test/acct/1", "n2", "https://acme.test/order/1", "");
  const auto h2 = model::Json::parse(b64url_decode((*get)["protected"].get<std::string>()));
  EXPECT_EQ(h2["kid"], "https://acme.test/acct/1");
  EXPECT_FALSE(h2.contains("jwk"));
  EXPECT_EQ((*get)["payload"], "");  // POST-as-GET
}

TEST(AcmeCrypto, CsrNamesTheHost) {
  auto key = Key::generate();
  auto der = key->csr("shop.example.test");
  ASSERT_TRUE(der);
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der->size()));
  ASSERT_NE(req, nullptr);
  char cn[128] = {0};
  X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, cn, sizeof cn);
  EXPECT_STREQ(cn, "shop.example.test");
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req);
  EXPECT_EQ(X509_REQ_verify(req, pub), 1);
  X509_REQ_free(req);
}

TEST(AcmeCrypto, ExpiryOfACertificate) {
  EXPECT_FALSE(certificate_expiry("garbage"));
  // A self-signed certificate valid for 10 days from now.
  auto key = Key::generate();
  const std::string pem = key->pem();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 10 * 86400);
  X509_set_pubkey(cert, pkey);
  X509_sign(cert, pkey, EVP_sha256());
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(out, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(out, &data);
  const auto expiry = certificate_expiry(std::string(data, static_cast<std::size_t>(n)));
  BIO_free(out);
  X509_free(cert);
  EVP_PKEY_free(pkey);
  ASSERT_TRUE(expiry);
  const auto days = std::chrono::duration_cast<std::chrono::hours>(*expiry - WallClock::now()).count() / 24.0;
  EXPECT_NEAR(days, 10, 0.1);
}

}  // namespace
}  // namespace prisn::acme
