// SPDX-License-Identifier: MIT
// A server-side TLS connection with OpenSSL on the socket's own descriptor (private to
// prisn_proxy).
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/append.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <cstddef>
#include <memory>
#include <string_view>
#include <type_traits>

#include "proxy/http_worker.hpp"

namespace prisn::proxy::detail {

/// What an SSL call needs before it can go on.
enum class TlsWant { kNothing, kRead, kWrite };

/// A TLS server connection in which OpenSSL reads and writes the (non-blocking) socket
/// itself, as nginx and HAProxy run it. Asio's ssl::stream runs OpenSSL on memory buffers
/// instead and moves every record between them and the socket by asynchronous socket
/// operations: two more copies per record, a handler posted per step, and no synchronous
/// write. Here a read or write is one SSL call, and an operation waits for the socket's
/// readiness only when that call says it must (want read / want write). OpenSSL returns
/// "want read" only after the socket said EAGAIN, which is what waiting on Asio's
/// edge-triggered epoll registration requires.
///
/// An AsyncReadStream and AsyncWriteStream for Beast and Asio, with a synchronous
/// write_some that takes what the socket takes now (would_block for the rest); next_layer()
/// is the socket. Not movable: operations in progress refer to it. OpenSSL writes with
/// write(2), not send(MSG_NOSIGNAL): the process must ignore SIGPIPE, as prisnd does.
///
/// A read and a write may wait at once (a tunnel). SSL_write reads the socket only in the
/// middle of a handshake message: with renegotiation off, only for a TLS 1.3 post-handshake
/// message split across records, the one case in which a waiting reader could miss bytes
/// such a write took in.
class TlsStream {
 public:
  using executor_type = Executor;
  using next_layer_type = Socket;

  /// Takes `socket` (made non-blocking) for a server connection under `ctx`.
  TlsStream(Socket socket, SSL_CTX* ctx);
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  executor_type get_executor() { return socket_.get_executor(); }
  /// The protocol ALPN chose in the handshake ("h2", "http/1.1"), or "" for none.
  std::string_view alpn() const;
  Socket& next_layer() { return socket_; }

  /// What the socket takes now, as asio::write expects of a SyncWriteStream.
  template <class ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers, boost::system::error_code& ec) {
    std::size_t n = 0;
    ec = {};
    if (write_step(buffers, n, ec) != TlsWant::kNothing) ec = asio::error::would_block;
    return n;
  }

  // Asio's stream operations, then the server handshake and close_notify; each completes
  // with operation_aborted when the socket is cancelled (the connection's deadline).
  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    auto step = [this, buffers](boost::system::error_code& ec, std::size_t& n) { return read_step(buffers, n, ec); };
    return start<true>(step, std::forward<Token>(token));
  }
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    auto step = [this, buffers](boost::system::error_code& ec, std::size_t& n) { return write_step(buffers, n, ec); };
    return start<true>(step, std::forward<Token>(token));
  }
  template <class Token>
  auto async_handshake(Token&& token) {
    auto step = [this](boost::system::error_code& ec, std::size_t&) { return handshake_step(ec); };
    return start<false>(step, std::forward<Token>(token));
  }
  template <class Token>
  auto async_shutdown(Token&& token) {
    auto step = [this](boost::system::error_code& ec, std::size_t&) { return shutdown_step(ec); };
    return start<false>(step, std::forward<Token>(token));
  }

 private:
  /// One attempt at each step; kNothing with `ec` set when it failed, or when done.
  TlsWant handshake_step(boost::system::error_code& ec);
  TlsWant read_step(asio::mutable_buffer into, std::size_t& n, boost::system::error_code& ec);
  TlsWant write_step(asio::const_buffer from, std::size_t& n, boost::system::error_code& ec);
  /// Sends close_notify; the peer's is not waited for (it may never come).
  TlsWant shutdown_step(boost::system::error_code& ec);

  template <class MutableBuffers>
  TlsWant read_step(const MutableBuffers& buffers, std::size_t& n, boost::system::error_code& ec) {
    return read_step(first_nonempty(buffers), n, ec);
  }
  template <class ConstBuffers>
  TlsWant write_step(const ConstBuffers& buffers, std::size_t& n, boost::system::error_code& ec) {
    return write_step(gather(buffers), n, ec);
  }

  struct FreeSsl {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };
  static constexpr std::size_t kRecord = 16 * 1024;  // the most plaintext one record carries

  /// Repeats `step` after each wait it asks for, then completes. A step that is done at once
  /// completes through a post: never inside the initiating call, as Asio's contract says.
  template <bool Sized, class Step>
  struct Op {
    TlsStream& stream;
    Step step;
    bool waited = false;
    bool posted = false;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}, std::size_t n = 0) {
      if (ec && waited) stream.wait_ended(ec);
      if (!posted && !ec) {
        const TlsWant want = step(ec, n);
        if (want != TlsWant::kNothing) {
          waited = true;
          return stream.socket_.async_wait(want == TlsWant::kRead ? Socket::wait_read : Socket::wait_write,
                                           std::move(self));
        }
        if (!waited) {
          posted = true;
          return asio::post(stream.get_executor(), asio::append(std::move(self), ec, n));
        }
      }
      if constexpr (Sized) self.complete(ec, n);
      else self.complete(ec);
    }
  };

  template <bool Sized, class Step, class Token>
  auto start(Step step, Token&& token) {
    using Signature = std::conditional_t<Sized, void(boost::system::error_code, std::size_t),
                                         void(boost::system::error_code)>;
    return asio::async_compose<Token, Signature>(Op<Sized, Step>{*this, std::move(step)}, token, socket_);
  }

  template <class MutableBuffers>
  static asio::mutable_buffer first_nonempty(const MutableBuffers& buffers) {
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it) {
      if (asio::mutable_buffer b(*it); b.size() > 0) return b;
    }
    return {};
  }

  /// One record's worth of `buffers` in one piece: the first buffer when it is the only
  /// one or fills a record, else a copy of the first kRecord bytes (one record instead of a
  /// small record per piece, as Beast's flat_stream does). Deterministic, as a retried
  /// SSL_write requires: the same buffers give the same bytes. The copy goes to a buffer of
  /// the thread's, not the connection's: SSL_write encrypts it at once, and a retry gathers
  /// again (OpenSSL keeps the pending record itself, and ACCEPT_MOVING_WRITE_BUFFER lets
  /// the retry come from anywhere), so an idle connection holds no such buffer.
  template <class ConstBuffers>
  asio::const_buffer gather(const ConstBuffers& buffers) {
    auto it = asio::buffer_sequence_begin(buffers);
    const auto end = asio::buffer_sequence_end(buffers);
    while (it != end && asio::const_buffer(*it).size() == 0) ++it;
    if (it == end) return {};
    const asio::const_buffer first(*it);
    if (first.size() >= kRecord || std::next(it) == end) return first;
    char* scratch = thread_scratch();
    return {scratch, asio::buffer_copy(asio::buffer(scratch, kRecord), buffers)};
  }

  static char* thread_scratch();  // kRecord bytes of this thread's, for gather()
  TlsWant fail(int result, boost::system::error_code& ec);
  /// True, with `ec` set, after a fatal error.
  bool already_failed(boost::system::error_code& ec) const {
    if (failure_) ec = failure_;
    return static_cast<bool>(failure_);
  }
  /// A wait ended by `ec` (cancelled by the deadline, or the socket failed). A record that
  /// SSL_write left half-sent can then never be completed with the same bytes, as OpenSSL
  /// requires: the next write would send that record and count the first bytes of whatever
  /// it is given as its own. So no further write may follow.
  void wait_ended(boost::system::error_code ec) {
    if (write_pending_ && !failure_) failure_ = ec;
  }

  Socket socket_;
  std::unique_ptr<SSL, FreeSsl> ssl_;
  boost::system::error_code failure_;  // fatal: every later step returns it, and no shutdown is tried
  bool write_pending_ = false;         // SSL_write said want-write: it must be retried with the same bytes
  bool established_ = false;
};

}  // namespace prisn::proxy::detail
