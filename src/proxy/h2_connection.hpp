// SPDX-License-Identifier: MIT
// The server side of an HTTP/2 connection (RFC 9113), sans-IO (private to prisn_proxy):
// frames in, events out; frames to send queued in out(). Written by hand for the reason
// hpack.hpp gives.
//
// It keeps the connection's rules — the preface, SETTINGS, PING, GOAWAY, header blocks and
// their CONTINUATION, stream states, flow control in both directions, content-length
// against DATA — so that what reaches the router is a sequence of requests with bodies.
// What a request means is the router's (h2_request.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/hpack.hpp"

namespace prisn::proxy::detail::h2 {

inline constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// RFC 9113 §7.
enum class ErrorCode : std::uint32_t {
  kNoError = 0x0,
  kProtocol = 0x1,
  kInternal = 0x2,
  kFlowControl = 0x3,
  kStreamClosed = 0x5,
  kFrameSize = 0x6,
  kRefusedStream = 0x7,
  kCancel = 0x8,
  kCompression = 0x9,
  kEnhanceYourCalm = 0xb,
};

/// What this side announces.
struct Settings {
  std::uint32_t max_concurrent_streams = 128;
  std::uint32_t stream_window = 256 * 1024;      ///< request body bytes buffered per stream, at most
  std::uint32_t connection_window = 1024 * 1024;  ///< and on the whole connection
  std::uint32_t header_list_limit = 64 * 1024;   ///< decoded header bytes (RFC 7541 §4.1 sizes)
};

struct Event {
  enum class Kind {
    kRequest,  ///< a new stream's header block: `headers`, `end_stream`, `too_large`
    kData,     ///< request body bytes (`data` may be empty when `end_stream` ends the body)
    kReset,    ///< the stream is gone (the client reset it, or broke its rules): stop serving it
    kWindow,   ///< more DATA may be sent on `stream` (0: on every stream)
    kGoaway,   ///< the client will open no more streams
  };
  Kind kind;
  std::uint32_t stream = 0;
  std::vector<hpack::Header> headers;
  std::string data;
  bool end_stream = false;
  bool too_large = false;  ///< the header list passed Settings::header_list_limit
};

class ServerConnection {
 public:
  /// Queues this side's SETTINGS (and the connection window's first update) in out().
  explicit ServerConnection(Settings settings = {});

  /// Takes bytes read from the client and appends what they mean to `events`. False after
  /// a connection error: a GOAWAY saying why is queued, and nothing more may be fed.
  bool feed(std::string_view bytes, std::vector<Event>& events);

  /// Frames to write to the client, in order. The caller takes them (clears it).
  std::string& out() { return out_; }

  /// Sends a response header block (HEADERS, then CONTINUATION as the peer's frame size needs).
  void send_headers(std::uint32_t stream, std::string_view block, bool end_stream);
  /// How many DATA bytes `stream` may send now (both flow-control windows).
  std::size_t send_window(std::uint32_t stream) const;
  /// Sends DATA; `bytes` must fit send_window(). Frames of at most 16 KiB.
  void send_data(std::uint32_t stream, std::string_view bytes, bool end_stream);
  /// Ends a stream with RST_STREAM (nothing when it is already closed).
  void reset(std::uint32_t stream, ErrorCode code);
  /// The router has passed on `n` body bytes of `stream`: the client may send as many more
  /// (WINDOW_UPDATE, batched until half a window is due).
  void consumed(std::uint32_t stream, std::size_t n);
  /// GOAWAY with the last stream this side took: no new streams are served after it.
  void goaway(ErrorCode code);

  /// Whether `stream` is still open on either side (neither reset nor ended both ways).
  bool stream_open(std::uint32_t stream) const { return streams_.contains(stream); }
  bool going_away() const { return going_away_; }
  /// A header block has begun and its last CONTINUATION has not come yet.
  bool in_header_block() const { return block_stream_ != 0; }

 private:
  struct Stream {
    std::int64_t send_window;
    std::int64_t recv_window;
    std::size_t unacked = 0;  // consumed bytes not yet given back
    std::optional<std::uint64_t> content_length;
    std::uint64_t received = 0;
    bool remote_closed = false;
    bool local_closed = false;
  };
  struct FrameHeader {
    std::uint32_t length;
    std::uint8_t type;
    std::uint8_t flags;
    std::uint32_t stream;
  };

  bool on_frame(const FrameHeader& h, std::string_view payload, std::vector<Event>& events);
  bool on_data(const FrameHeader& h, std::string_view payload, std::vector<Event>& events);
  bool on_headers(const FrameHeader& h, std::string_view payload, std::vector<Event>& events);
  bool on_block(std::vector<Event>& events);
  bool on_settings(const FrameHeader& h, std::string_view payload, std::vector<Event>& events);
  bool on_window_update(const FrameHeader& h, std::string_view payload, std::vector<Event>& events);
  bool on_rst_stream(const FrameHeader& h, std::string_view payload, std::vector<Event>& events);
  bool fail(ErrorCode code);
  /// A stream error (RFC 9113 §5.4.2): RST_STREAM, and kReset when the router serves it.
  void stream_error(std::uint32_t stream, ErrorCode code, std::vector<Event>& events);
  void end_remote(std::uint32_t stream, Stream& s);
  void close_if_done(std::uint32_t stream);
  void frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, std::string_view payload);
  void window_update(std::uint32_t stream, std::uint32_t increment);

  Settings settings_;
  hpack::Decoder decoder_;
  std::string in_;
  std::string out_;
  std::map<std::uint32_t, Stream> streams_;
  bool preface_done_ = false;
  bool settings_seen_ = false;
  bool failed_ = false;
  bool going_away_ = false;
  std::uint32_t last_stream_ = 0;
  std::int64_t conn_send_window_ = 65535;
  std::int64_t conn_recv_window_ = 65535;
  std::size_t conn_unacked_ = 0;
  std::int64_t peer_initial_window_ = 65535;
  std::uint32_t peer_max_frame_ = 16384;
  // A header block still waiting for its CONTINUATION frames.
  std::string block_;
  std::uint32_t block_stream_ = 0;
  bool block_end_stream_ = false;
  bool block_self_dependent_ = false;  // its priority names the stream itself
};

}  // namespace prisn::proxy::detail::h2
