// SPDX-License-Identifier: MIT
// TLS termination in the L7 router against real sockets on loopback: answers larger than
// the socket buffers to a slow reader, clients that reset or stop reading, uploads, an
// upgraded connection, close_notify, and a handshake that never comes. The test's side is
// blocking OpenSSL on POSIX sockets; the instance is a thread of the test.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "prisn/proxy/http_router.hpp"
#include "prisn/proxy/tls_store.hpp"
#include "unit/proxy/loopback.hpp"

namespace prisn::proxy {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

using test_support::connect_to;
using test_support::Fd;
using test_support::loopback;

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using CtxPtr = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX, SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, Deleter<SSL, SSL_free>>;

std::string pem_of(const std::function<int(BIO*)>& write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  write(bio.get());
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// A self-signed P-256 certificate for t.test.
Certificate self_signed() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("t.test"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  X509_set_pubkey(cert.get(), key.get());
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, "DNS:t.test");
  X509_add_ext(cert.get(), san, -1);
  X509_EXTENSION_free(san);
  X509_sign(cert.get(), key.get(), EVP_sha256());
  Certificate c;
  c.source = "test";
  c.cert_pem = pem_of([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); });
  c.key_pem = pem_of([&](BIO* b) { return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
  return c;
}

// A blocking TLS client connection to the router.
class TlsClient {
 public:
  explicit TlsClient(std::uint16_t port, int receive_buffer = 0)
      : ctx_(SSL_CTX_new(TLS_client_method())), fd_(connect_to(port, receive_buffer)) {
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set_fd(ssl_.get(), fd_.get());
    SSL_set_tlsext_host_name(ssl_.get(), "t.test");
    handshake_ok_ = SSL_connect(ssl_.get()) == 1;
  }
  bool handshake_ok() const { return handshake_ok_; }

  void write(std::string_view bytes) {
    while (!bytes.empty()) {
      std::size_t n = 0;
      ASSERT_EQ(SSL_write_ex(ssl_.get(), bytes.data(), bytes.size(), &n), 1);
      bytes.remove_prefix(n);
    }
  }
  /// Up to `max` bytes; empty at the end of the stream, `closed_cleanly` then says whether
  /// it ended with close_notify.
  std::string read(std::size_t max = 16384) {
    std::string out(max, '\0');
    std::size_t n = 0;
    if (SSL_read_ex(ssl_.get(), out.data(), max, &n) != 1) {
      closed_cleanly_ = SSL_get_error(ssl_.get(), 0) == SSL_ERROR_ZERO_RETURN;
      ERR_clear_error();
      return {};
    }
    out.resize(n);
    return out;
  }
  /// An answer's header, and whatever came after it in the same reads.
  std::pair<std::string, std::string> read_header() {
    std::string data;
    while (data.find("\r\n\r\n") == std::string::npos) {
      auto more = read();
      if (more.empty()) break;
      data += more;
    }
    const auto end = data.find("\r\n\r\n");
    if (end == std::string::npos) return {data, {}};
    return {data.substr(0, end + 4), data.substr(end + 4)};
  }
  bool closed_cleanly() const { return closed_cleanly_; }
  /// Closes the connection at once with a reset, as a client that crashed.
  void abort() {
    const linger reset{1, 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    ::shutdown(fd_.get(), SHUT_RDWR);
  }

 private:
  CtxPtr ctx_;
  Fd fd_;
  SslPtr ssl_;
  bool handshake_ok_ = false;
  bool closed_cleanly_ = false;
};

// The instance: answers each request by `answer(request head, body size, connection)`, on
// one connection after another.
class Instance {
 public:
  using Answer = std::function<std::string(const std::string& head, std::size_t body_bytes, int fd)>;
  explicit Instance(Answer answer) : listener_(::socket(AF_INET, SOCK_STREAM, 0)) {
    auto a = loopback(0);
    EXPECT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(listener_.get(), 16), 0);
    socklen_t len = sizeof a;
    ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, answer = std::move(answer)] { serve(answer); });
  }
  ~Instance() {
    ::shutdown(listener_.get(), SHUT_RDWR);  // ends an accept() still waiting
    if (const int fd = conn_fd_.load(); fd >= 0) ::shutdown(fd, SHUT_RDWR);  // and a recv() on the router's kept-alive connection
    thread_.join();
  }
  std::uint16_t port() const { return port_; }

 private:
  void serve(const Answer& answer) {
    for (;;) {
      const Fd conn(::accept(listener_.get(), nullptr, nullptr));
      if (conn.get() < 0) return;
      const timeval wait{5, 0};  // should the destructor's shutdown() miss it
      ::setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
      conn_fd_ = conn.get();
      serve_connection(conn, answer);
      conn_fd_ = -1;
    }
  }

  void serve_connection(const Fd& conn, const Answer& answer) {
    std::string data;
    char buf[65536];
    for (;;) {
      while (data.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(conn.get(), buf, sizeof buf, 0);
        if (n <= 0) return;
        data.append(buf, static_cast<std::size_t>(n));
      }
      const auto end = data.find("\r\n\r\n") + 4;
      const std::string head = data.substr(0, end);
      std::size_t want = 0;
      if (const auto at = head.find("Content-Length: "); at != std::string::npos) want = std::stoul(head.substr(at + 16));
      std::size_t got = data.size() - end;
      while (got < want) {
        const ssize_t n = ::recv(conn.get(), buf, sizeof buf, 0);
        if (n <= 0) return;
        got += static_cast<std::size_t>(n);
      }
      data.clear();
      const std::string out = answer(head, got, conn.get());
      if (out.empty()) return;
      for (std::string_view rest = out; !rest.empty();) {
        const ssize_t n = ::send(conn.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n <= 0) return;
        rest.remove_prefix(static_cast<std::size_t>(n));
      }
    }
  }

  Fd listener_;
  std::atomic<int> conn_fd_{-1};
  std::uint16_t port_ = 0;
  std::thread thread_;
};

char pattern(std::size_t i) { return static_cast<char>('a' + (i * 7 + i / 4096) % 26); }

// An answer larger than every socket buffer on the way, its body in pattern().
constexpr std::size_t kLarge = 8 << 20;
std::string large_answer() {
  std::string out = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(kLarge) + "\r\n\r\n";
  for (std::size_t i = 0; i < kLarge; ++i) out += pattern(i);
  return out;
}

// Reads into `body` until it holds `size` bytes or the stream ends.
void read_rest(TlsClient& client, std::string& body, std::size_t size) {
  while (body.size() < size) {
    auto more = client.read();
    if (more.empty()) return;
    body += more;
  }
}

class HttpsRouter : public test_support::RouterTest {
 protected:
  void SetUp() override {
    auto tls = std::make_shared<TlsStore>();
    const Certificate cert = self_signed();
    ASSERT_TRUE(tls->load({cert}, &cert).empty());
    HttpRouterOptions o;
    o.workers = 1;
    o.header_timeout = 1s;
    o.idle_timeout = 2s;
    o.upstream_timeout = 2s;
    start(o, tls);
  }
};

// The key of `c` again, encrypted with a passphrase, as `openssl genpkey -aes256` writes it.
std::string encrypted_key_of(const Certificate& c) {
  BioPtr in(BIO_new_mem_buf(c.key_pem.data(), static_cast<int>(c.key_pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
  static char passphrase[] = "secret";
  return pem_of([&](BIO* b) {
    return PEM_write_bio_PKCS8PrivateKey(b, key.get(), EVP_aes_256_cbc(), passphrase, 6, nullptr, nullptr);
  });
}

TEST(TlsStore, RefusesAnEncryptedKeyInsteadOfAskingForItsPassphrase) {
  TlsStore tls;
  Certificate cert = self_signed();
  cert.key_pem = encrypted_key_of(cert);
  ASSERT_NE(cert.key_pem.find("ENCRYPTED"), std::string::npos);
  const auto errors = tls.load({cert}, &cert);
  ASSERT_EQ(errors.size(), 2U);  // once as the default, once in the list
  EXPECT_EQ(errors[0], "test: the key is encrypted; prisn needs it without a passphrase");
  EXPECT_EQ(tls.size(), 0U);
}

TEST_F(HttpsRouter, RelaysAnAnswerLargerThanTheSocketBuffersToASlowReader) {
  Instance instance([](const std::string&, std::size_t, int) { return large_answer(); });
  route_to(instance.port());
  TlsClient client(port_, 16384);
  ASSERT_TRUE(client.handshake_ok());
  client.write("GET /big HTTP/1.1\r\nHost: t.test\r\n\r\n");
  auto [head, body] = client.read_header();
  ASSERT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
  std::this_thread::sleep_for(300ms);  // the router's writes meet a full socket and must wait
  read_rest(client, body, kLarge);
  ASSERT_EQ(body.size(), kLarge);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < kLarge; ++i) wrong += body[i] != pattern(i);
  EXPECT_EQ(wrong, 0U);
  client.write("GET /big HTTP/1.1\r\nHost: t.test\r\nConnection: close\r\n\r\n");  // still alive
  EXPECT_TRUE(client.read_header().first.starts_with("HTTP/1.1 200 OK\r\n"));
}

TEST_F(HttpsRouter, GoesOnServingAfterAClientLeavesMidAnswer) {
  Instance instance([](const std::string& head, std::size_t, int) {
    const std::size_t size = head.starts_with("GET /big ") ? kLarge : 3;
    return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n" + std::string(size, 'x');
  });
  route_to(instance.port());
  {
    TlsClient leaver(port_, 16384);
    ASSERT_TRUE(leaver.handshake_ok());
    leaver.write("GET /big HTTP/1.1\r\nHost: t.test\r\n\r\n");
    ASSERT_TRUE(leaver.read_header().first.starts_with("HTTP/1.1 200 OK\r\n"));
    leaver.abort();  // with most of the answer still to come
  }
  TlsClient next(port_);
  ASSERT_TRUE(next.handshake_ok());
  next.write("GET /small HTTP/1.1\r\nHost: t.test\r\n\r\n");
  auto [head, body] = next.read_header();
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
  EXPECT_EQ(body, "xxx");
}

TEST_F(HttpsRouter, StreamsAnUploadToTheInstanceAndClosesWithCloseNotify) {
  constexpr std::size_t kSize = 4 << 20;
  Instance instance([](const std::string& head, std::size_t body_bytes, int) {
    const std::string got = head.substr(0, head.find("\r\n")) + " " + std::to_string(body_bytes) + "\n";
    return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(got.size()) + "\r\n\r\n" + got;
  });
  route_to(instance.port());
  TlsClient client(port_);
  ASSERT_TRUE(client.handshake_ok());
  client.write("POST /up HTTP/1.1\r\nHost: t.test\r\nConnection: close\r\nContent-Length: " + std::to_string(kSize) +
               "\r\n\r\n");
  const std::string piece(100000, 'x');
  for (std::size_t sent = 0; sent < kSize; sent += piece.size()) {
    client.write(std::string_view(piece).substr(0, std::min(piece.size(), kSize - sent)));
  }
  auto [head, body] = client.read_header();
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
  while (!body.ends_with("\n")) {
    auto more = client.read();
    if (more.empty()) break;
    body += more;
  }
  EXPECT_EQ(body, "POST /up HTTP/1.1 " + std::to_string(kSize) + "\n");
  EXPECT_EQ(client.read(), "");
  EXPECT_TRUE(client.closed_cleanly());  // close_notify, not just a TCP close
}

TEST_F(HttpsRouter, TunnelsAnUpgradedConnectionBothWays) {
  Instance instance([](const std::string&, std::size_t, int fd) {
    const std::string hello = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n";
    ::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL);
    char buf[4096];
    std::string seen;
    while (!seen.ends_with("world")) {  // echoes, upper-cased, then ends the tunnel
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      seen.append(buf, static_cast<std::size_t>(n));
      for (ssize_t i = 0; i < n; ++i) buf[i] = static_cast<char>(std::toupper(buf[i]));
      ::send(fd, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL);
    }
    return std::string();
  });
  route_to(instance.port());
  TlsClient client(port_);
  ASSERT_TRUE(client.handshake_ok());
  client.write("GET /echo HTTP/1.1\r\nHost: t.test\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n");
  auto [head, rest] = client.read_header();
  ASSERT_TRUE(head.starts_with("HTTP/1.1 101 ")) << head;
  for (const std::string word : {"hello", "tunnelled", "world"}) {
    client.write(word);
    std::string echoed = rest;
    rest.clear();
    while (echoed.size() < word.size()) {
      auto more = client.read();
      if (more.empty()) break;
      echoed += more;
    }
    std::string upper = word;
    for (char& c : upper) c = static_cast<char>(std::toupper(c));
    EXPECT_EQ(echoed, upper);
  }
  EXPECT_EQ(client.read(), "");  // the instance ended the tunnel...
  EXPECT_TRUE(client.closed_cleanly());  // ...and the router ended TLS before TCP
}

TEST_F(HttpsRouter, CutsOffAClientThatStopsReadingAfterTheIdleTimeout) {
  Instance instance([](const std::string&, std::size_t, int) { return large_answer(); });
  route_to(instance.port());
  TlsClient client(port_, 16384);
  ASSERT_TRUE(client.handshake_ok());
  client.write("GET /big HTTP/1.1\r\nHost: t.test\r\n\r\n");
  std::this_thread::sleep_for(3s);  // past the 2 s idle timeout, with the router's write waiting
  auto [head, body] = client.read_header();
  ASSERT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
  read_rest(client, body, kLarge);
  EXPECT_LT(body.size(), kLarge);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < body.size(); ++i) wrong += body[i] != pattern(i);
  EXPECT_EQ(wrong, 0U);  // what came is intact: no record after the one the write left half-sent
  EXPECT_FALSE(client.closed_cleanly());  // cut off, not ended
}

TEST_F(HttpsRouter, ClosesAConnectionThatNeverStartsItsHandshake) {
  const Fd client = connect_to(port_);
  const auto start = Clock::now();
  char buf[64];
  EXPECT_EQ(::recv(client.get(), buf, sizeof buf, 0), 0);
  const double waited = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_GT(waited, 0.7);
  EXPECT_LT(waited, 2.5);
}

TEST_F(HttpsRouter, AnswersPlainHttpOnTheTlsPortWithNothing) {
  const Fd client = connect_to(port_);
  const std::string_view request = "GET / HTTP/1.1\r\nHost: t.test\r\n\r\n";
  ASSERT_EQ(::send(client.get(), request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  char buf[4096];
  std::string got;
  for (ssize_t n; (n = ::recv(client.get(), buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<std::size_t>(n));
  EXPECT_EQ(got.find("HTTP/1.1"), std::string::npos) << got;  // a TLS alert at most, never an answer
}

}  // namespace
}  // namespace prisn::proxy
