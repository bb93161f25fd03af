// SPDX-License-Identifier: MIT
#include "proxy/tls_stream.hpp"

#include <openssl/err.h>

#include <boost/asio/ssl/error.hpp>
#include <cerrno>

namespace prisn::proxy::detail {

TlsStream::TlsStream(Socket socket, SSL_CTX* ctx) : socket_(std::move(socket)), ssl_(SSL_new(ctx)) {
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
  if (!ssl_ || SSL_set_fd(ssl_.get(), socket_.native_handle()) != 1) {  // the socket keeps the descriptor
    ssl_.reset();
    ERR_clear_error();
    failure_ = asio::error::no_memory;  // every step fails with it
    return;
  }
  // As Asio's engine and nginx set them: a write may end after a record and resume from
  // another address, and idle connections hold no record buffers.
  SSL_set_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                               SSL_MODE_RELEASE_BUFFERS);
  SSL_set_read_ahead(ssl_.get(), 1);  // one recv per record, not one for its header and one for the rest
  SSL_set_accept_state(ssl_.get());
}

std::string_view TlsStream::alpn() const {
  const unsigned char* name = nullptr;
  unsigned length = 0;
  if (ssl_) SSL_get0_alpn_selected(ssl_.get(), &name, &length);
  return name == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(name), length);
}

char* TlsStream::thread_scratch() {
  thread_local const std::unique_ptr<char[]> scratch = std::make_unique_for_overwrite<char[]>(kRecord);
  return scratch.get();
}

// The SSL error queue is cleared around the handshake (callbacks may leave entries) and
// after every failure, so that each later call's SSL_get_error sees only its own: clearing
// it before every read and write, as OpenSSL otherwise asks, costs a thread-local lookup
// each.
TlsWant TlsStream::fail(int result, boost::system::error_code& ec) {
  const int error = SSL_get_error(ssl_.get(), result);
  switch (error) {
    case SSL_ERROR_WANT_READ:
      return TlsWant::kRead;
    case SSL_ERROR_WANT_WRITE:
      return TlsWant::kWrite;
    case SSL_ERROR_ZERO_RETURN:  // the peer's close_notify
      ec = asio::error::eof;
      break;
    case SSL_ERROR_SYSCALL:
      failure_ = ec = errno != 0 ? boost::system::error_code(errno, boost::system::system_category())
                                 : boost::system::error_code(asio::ssl::error::stream_truncated);
      break;
    default: {
      const unsigned long last = ERR_peek_last_error();
      if (ERR_GET_LIB(last) == ERR_LIB_SSL && ERR_GET_REASON(last) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ec = asio::ssl::error::stream_truncated;  // closed without close_notify
      } else if (last != 0) {
        ec = boost::system::error_code(static_cast<int>(last), asio::error::get_ssl_category());
      } else {
        ec = asio::error::connection_aborted;  // a failure OpenSSL gave no reason for
      }
      failure_ = ec;
    }
  }
  ERR_clear_error();
  return TlsWant::kNothing;
}

TlsWant TlsStream::handshake_step(boost::system::error_code& ec) {
  if (already_failed(ec)) return TlsWant::kNothing;
  ERR_clear_error();  // whatever else ran on this thread left
  const int result = SSL_do_handshake(ssl_.get());
  if (result == 1) {
    established_ = true;
    ERR_clear_error();  // what callbacks (SNI, ALPN, session cache) may have left
    return TlsWant::kNothing;
  }
  return fail(result, ec);
}

TlsWant TlsStream::read_step(asio::mutable_buffer into, std::size_t& n, boost::system::error_code& ec) {
  n = 0;
  if (already_failed(ec)) return TlsWant::kNothing;
  if (into.size() == 0) return TlsWant::kNothing;
  if (SSL_read_ex(ssl_.get(), into.data(), into.size(), &n) == 1) return TlsWant::kNothing;
  return fail(0, ec);
}

TlsWant TlsStream::write_step(asio::const_buffer from, std::size_t& n, boost::system::error_code& ec) {
  n = 0;
  if (already_failed(ec)) return TlsWant::kNothing;
  if (from.size() == 0) return TlsWant::kNothing;
  if (SSL_write_ex(ssl_.get(), from.data(), from.size(), &n) == 1) {
    write_pending_ = false;
    return TlsWant::kNothing;
  }
  const TlsWant want = fail(0, ec);
  write_pending_ = want == TlsWant::kWrite;
  return want;
}

TlsWant TlsStream::shutdown_step(boost::system::error_code& ec) {
  if (failure_ || write_pending_ || !established_) return TlsWant::kNothing;
  const int result = SSL_shutdown(ssl_.get());
  if (result >= 0) return TlsWant::kNothing;  // sent (0: the peer's not yet read, and not awaited)
  const TlsWant want = fail(result, ec);
  return want == TlsWant::kRead ? TlsWant::kNothing : want;
}

}  // namespace prisn::proxy::detail
