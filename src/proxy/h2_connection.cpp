// SPDX-License-Identifier: MIT
#include "proxy/h2_connection.hpp"

#include <algorithm>
#include <charconv>

namespace prisn::proxy::detail::h2 {

namespace {

enum FrameType : std::uint8_t {
  kData = 0x0,
  kHeaders = 0x1,
  kPriority = 0x2,
  kRstStream = 0x3,
  kSettings = 0x4,
  kPushPromise = 0x5,
  kPing = 0x6,
  kGoaway = 0x7,
  kWindowUpdate = 0x8,
  kContinuation = 0x9,
};
enum Flag : std::uint8_t { kEndStream = 0x1, kAck = 0x1, kEndHeaders = 0x4, kPadded = 0x8, kPriorityFlag = 0x20 };
enum SettingId : std::uint16_t {
  kHeaderTableSize = 0x1,
  kEnablePush = 0x2,
  kMaxConcurrentStreams = 0x3,
  kInitialWindowSize = 0x4,
  kMaxFrameSize = 0x5,
  kMaxHeaderListSize = 0x6,
};

constexpr std::size_t kFrameHeader = 9;
constexpr std::uint32_t kMaxFrame = 16384;  // SETTINGS_MAX_FRAME_SIZE this side keeps (the default)
constexpr std::int64_t kMaxWindow = 0x7fffffff;

std::uint32_t read32(std::string_view s) {
  return (static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[0])) << 24) |
         (static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<std::uint8_t>(s[2])) << 8) | static_cast<std::uint8_t>(s[3]);
}

void append32(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

void append_setting(std::string& out, std::uint16_t id, std::uint32_t value) {
  out.push_back(static_cast<char>(id >> 8));
  out.push_back(static_cast<char>(id));
  append32(out, value);
}

// Removes the padding of a PADDED frame; false when the pad length does not fit.
bool unpad(std::uint8_t flags, std::string_view& payload) {
  if ((flags & kPadded) == 0) return true;
  if (payload.empty()) return false;
  const auto pad = static_cast<std::uint8_t>(payload[0]);
  if (pad >= payload.size()) return false;
  payload = payload.substr(1, payload.size() - 1 - pad);
  return true;
}

// The declared body length, when the block has one content-length that is a number.
std::optional<std::uint64_t> content_length_of(const std::vector<hpack::Header>& headers) {
  std::optional<std::uint64_t> length;
  for (const auto& h : headers) {
    if (h.name != "content-length") continue;
    std::uint64_t v = 0;
    const auto* end = h.value.data() + h.value.size();
    if (const auto [p, ec] = std::from_chars(h.value.data(), end, v); ec != std::errc() || p != end) return std::nullopt;
    if (length && *length != v) return std::nullopt;
    length = v;
  }
  return length;
}

}  // namespace

ServerConnection::ServerConnection(Settings settings) : settings_(settings) {
  std::string payload;
  append_setting(payload, kMaxConcurrentStreams, settings_.max_concurrent_streams);
  append_setting(payload, kInitialWindowSize, settings_.stream_window);
  append_setting(payload, kMaxHeaderListSize, settings_.header_list_limit);
  append_setting(payload, kEnablePush, 0);
  frame(kSettings, 0, 0, payload);
  if (settings_.connection_window > conn_recv_window_) {
    window_update(0, static_cast<std::uint32_t>(settings_.connection_window - conn_recv_window_));
    conn_recv_window_ = settings_.connection_window;
  }
}

void ServerConnection::frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, std::string_view payload) {
  const auto length = static_cast<std::uint32_t>(payload.size());
  out_.push_back(static_cast<char>(length >> 16));
  out_.push_back(static_cast<char>(length >> 8));
  out_.push_back(static_cast<char>(length));
  out_.push_back(static_cast<char>(type));
  out_.push_back(static_cast<char>(flags));
  append32(out_, stream & 0x7fffffff);
  out_.append(payload);
}

void ServerConnection::window_update(std::uint32_t stream, std::uint32_t increment) {
  std::string payload;
  append32(payload, increment);
  frame(kWindowUpdate, 0, stream, payload);
}

bool ServerConnection::fail(ErrorCode code) {
  goaway(code);
  failed_ = true;
  return false;
}

void ServerConnection::goaway(ErrorCode code) {
  std::string payload;
  append32(payload, last_stream_);
  append32(payload, static_cast<std::uint32_t>(code));
  frame(kGoaway, 0, 0, payload);
  going_away_ = true;
}

void ServerConnection::stream_error(std::uint32_t stream, ErrorCode code, std::vector<Event>& events) {
  const bool served = streams_.contains(stream);
  std::string payload;
  append32(payload, static_cast<std::uint32_t>(code));
  frame(kRstStream, 0, stream, payload);
  streams_.erase(stream);
  if (served) events.push_back(Event{.kind = Event::Kind::kReset, .stream = stream});
}

void ServerConnection::close_if_done(std::uint32_t stream) {
  if (auto it = streams_.find(stream); it != streams_.end() && it->second.remote_closed && it->second.local_closed) {
    streams_.erase(it);
  }
}

bool ServerConnection::feed(std::string_view bytes, std::vector<Event>& events) {
  if (failed_) return false;
  in_.append(bytes);
  std::size_t at = 0;
  if (!preface_done_) {
    const std::size_t n = std::min(in_.size(), kPreface.size());
    if (in_.compare(0, n, kPreface, 0, n) != 0) return fail(ErrorCode::kProtocol);
    if (n < kPreface.size()) return true;
    preface_done_ = true;
    at = kPreface.size();
  }
  while (in_.size() - at >= kFrameHeader) {
    const std::string_view head(in_.data() + at, kFrameHeader);
    FrameHeader h{};
    h.length = (static_cast<std::uint32_t>(static_cast<std::uint8_t>(head[0])) << 16) |
               (static_cast<std::uint32_t>(static_cast<std::uint8_t>(head[1])) << 8) |
               static_cast<std::uint8_t>(head[2]);
    h.type = static_cast<std::uint8_t>(head[3]);
    h.flags = static_cast<std::uint8_t>(head[4]);
    h.stream = read32(head.substr(5)) & 0x7fffffff;
    if (h.length > kMaxFrame) return fail(ErrorCode::kFrameSize);
    if (in_.size() - at - kFrameHeader < h.length) break;
    const std::string_view payload(in_.data() + at + kFrameHeader, h.length);
    if (!on_frame(h, payload, events)) return false;
    at += kFrameHeader + h.length;
  }
  in_.erase(0, at);
  return true;
}

bool ServerConnection::on_frame(const FrameHeader& h, std::string_view payload, std::vector<Event>& events) {
  if (!settings_seen_ && h.type != kSettings) return fail(ErrorCode::kProtocol);  // §3.4: SETTINGS comes first
  if (!block_.empty() || block_stream_ != 0) {  // §6.10: nothing may come between a block's frames
    if (h.type != kContinuation || h.stream != block_stream_) return fail(ErrorCode::kProtocol);
  }
  switch (h.type) {
    case kData:
      return on_data(h, payload, events);
    case kHeaders:
      return on_headers(h, payload, events);
    case kContinuation:
      if (block_stream_ == 0) return fail(ErrorCode::kProtocol);
      if (block_.size() + payload.size() > settings_.header_list_limit + 4 * kMaxFrame) {
        return fail(ErrorCode::kEnhanceYourCalm);  // a block no limit would accept
      }
      block_.append(payload);
      return (h.flags & kEndHeaders) == 0 || on_block(events);
    case kPriority:  // not acted on (RFC 9113 deprecates the scheme), only checked
      if (h.stream == 0) return fail(ErrorCode::kProtocol);
      if (payload.size() != 5) stream_error(h.stream, ErrorCode::kFrameSize, events);
      else if ((read32(payload) & 0x7fffffff) == h.stream) stream_error(h.stream, ErrorCode::kProtocol, events);
      return true;
    case kRstStream:
      return on_rst_stream(h, payload, events);
    case kSettings:
      return on_settings(h, payload, events);
    case kPushPromise:
      return fail(ErrorCode::kProtocol);  // a client never pushes
    case kPing:
      if (h.stream != 0) return fail(ErrorCode::kProtocol);
      if (payload.size() != 8) return fail(ErrorCode::kFrameSize);
      if ((h.flags & kAck) == 0) frame(kPing, kAck, 0, payload);
      return true;
    case kGoaway:
      if (h.stream != 0) return fail(ErrorCode::kProtocol);
      if (payload.size() < 8) return fail(ErrorCode::kFrameSize);
      events.push_back(Event{.kind = Event::Kind::kGoaway});
      return true;
    case kWindowUpdate:
      return on_window_update(h, payload, events);
    default:
      return true;  // §5.5: unknown frame types are ignored
  }
}

bool ServerConnection::on_data(const FrameHeader& h, std::string_view payload, std::vector<Event>& events) {
  if (h.stream == 0) return fail(ErrorCode::kProtocol);
  // Flow control counts the whole payload, padding included, whatever becomes of the frame.
  if (static_cast<std::int64_t>(h.length) > conn_recv_window_) return fail(ErrorCode::kFlowControl);
  conn_recv_window_ -= h.length;
  if (!unpad(h.flags, payload)) return fail(ErrorCode::kProtocol);
  const std::size_t overhead = h.length - payload.size();  // padding: given back at once
  auto it = streams_.find(h.stream);
  if (it == streams_.end() || it->second.remote_closed) {
    if (h.stream > last_stream_) return fail(ErrorCode::kProtocol);  // an idle stream
    consumed(0, h.length);
    stream_error(h.stream, ErrorCode::kStreamClosed, events);
    return true;
  }
  Stream& s = it->second;
  if (static_cast<std::int64_t>(h.length) > s.recv_window) {
    consumed(0, h.length);
    stream_error(h.stream, ErrorCode::kFlowControl, events);
    return true;
  }
  s.recv_window -= h.length;
  s.received += payload.size();
  const bool end = (h.flags & kEndStream) != 0;
  if (s.content_length && (s.received > *s.content_length || (end && s.received != *s.content_length))) {
    consumed(0, h.length);
    stream_error(h.stream, ErrorCode::kProtocol, events);  // §8.1.1: a body that is not the length it said
    return true;
  }
  if (overhead > 0) consumed(h.stream, overhead);
  if (!payload.empty() || end) {
    events.push_back(Event{.kind = Event::Kind::kData, .stream = h.stream, .data = std::string(payload), .end_stream = end});
  }
  if (end) end_remote(h.stream, s);
  return true;
}

void ServerConnection::end_remote(std::uint32_t stream, Stream& s) {
  s.remote_closed = true;
  close_if_done(stream);
}

bool ServerConnection::on_headers(const FrameHeader& h, std::string_view payload, std::vector<Event>& events) {
  if (h.stream == 0) return fail(ErrorCode::kProtocol);
  if (!unpad(h.flags, payload)) return fail(ErrorCode::kProtocol);
  block_self_dependent_ = false;
  if (h.flags & kPriorityFlag) {
    if (payload.size() < 5) return fail(ErrorCode::kFrameSize);
    block_self_dependent_ = (read32(payload) & 0x7fffffff) == h.stream;  // §5.3.1: a stream error
    payload.remove_prefix(5);
  }
  block_.assign(payload);
  block_stream_ = h.stream;
  block_end_stream_ = (h.flags & kEndStream) != 0;
  return (h.flags & kEndHeaders) == 0 || on_block(events);
}

bool ServerConnection::on_block(std::vector<Event>& events) {
  const std::uint32_t id = block_stream_;
  const bool end_stream = block_end_stream_;
  std::vector<hpack::Header> headers;
  const bool decoded = decoder_.decode(block_, headers, settings_.header_list_limit);
  block_.clear();
  block_stream_ = 0;
  if (!decoded) return fail(ErrorCode::kCompression);

  if (auto it = streams_.find(id); it != streams_.end()) {  // trailers: they end the body, and are dropped
    if (it->second.remote_closed) return fail(ErrorCode::kStreamClosed);
    if (!end_stream) {
      stream_error(id, ErrorCode::kProtocol, events);
      return true;
    }
    Stream& s = it->second;
    if (s.content_length && s.received != *s.content_length) {
      stream_error(id, ErrorCode::kProtocol, events);
      return true;
    }
    events.push_back(Event{.kind = Event::Kind::kData, .stream = id, .end_stream = true});
    end_remote(id, s);
    return true;
  }
  if (id % 2 == 0 || id <= last_stream_) return fail(id % 2 == 0 ? ErrorCode::kProtocol : ErrorCode::kStreamClosed);
  last_stream_ = id;
  if (going_away_ || streams_.size() >= settings_.max_concurrent_streams || block_self_dependent_) {
    stream_error(id, block_self_dependent_ ? ErrorCode::kProtocol : ErrorCode::kRefusedStream, events);
    return true;
  }
  std::size_t list_size = 0;
  for (const auto& header : headers) list_size += hpack::entry_size(header);
  Stream s{.send_window = peer_initial_window_, .recv_window = settings_.stream_window};
  s.content_length = content_length_of(headers);
  s.remote_closed = end_stream;
  if (end_stream && s.content_length && *s.content_length != 0) {  // a body it said it has and does not send
    stream_error(id, ErrorCode::kProtocol, events);
    return true;
  }
  streams_.emplace(id, s);
  events.push_back(Event{.kind = Event::Kind::kRequest,
                         .stream = id,
                         .headers = std::move(headers),
                         .end_stream = end_stream,
                         .too_large = decoder_.last_over_limit() || list_size > settings_.header_list_limit});
  return true;
}

bool ServerConnection::on_settings(const FrameHeader& h, std::string_view payload, std::vector<Event>& events) {
  if (h.stream != 0) return fail(ErrorCode::kProtocol);
  if (h.flags & kAck) return payload.empty() || fail(ErrorCode::kFrameSize);
  if (payload.size() % 6 != 0) return fail(ErrorCode::kFrameSize);
  settings_seen_ = true;
  for (std::size_t i = 0; i < payload.size(); i += 6) {
    const auto id = static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[i]) << 8) |
                                               static_cast<std::uint8_t>(payload[i + 1]));
    const std::uint32_t value = read32(payload.substr(i + 2));
    switch (id) {
      case kEnablePush:
        if (value > 1) return fail(ErrorCode::kProtocol);
        break;
      case kInitialWindowSize: {
        if (value > kMaxWindow) return fail(ErrorCode::kFlowControl);
        const std::int64_t delta = static_cast<std::int64_t>(value) - peer_initial_window_;
        for (auto& [sid, s] : streams_) {
          if (s.send_window + delta > kMaxWindow) return fail(ErrorCode::kFlowControl);
          s.send_window += delta;
        }
        peer_initial_window_ = value;
        events.push_back(Event{.kind = Event::Kind::kWindow, .stream = 0});
        break;
      }
      case kMaxFrameSize:
        if (value < 16384 || value > 16777215) return fail(ErrorCode::kProtocol);
        peer_max_frame_ = value;
        break;
      default:
        break;  // HEADER_TABLE_SIZE binds an encoder with a dynamic table (this one has none); others are advice
    }
  }
  frame(kSettings, kAck, 0, {});
  return true;
}

bool ServerConnection::on_window_update(const FrameHeader& h, std::string_view payload, std::vector<Event>& events) {
  if (payload.size() != 4) return fail(ErrorCode::kFrameSize);
  const std::uint32_t increment = read32(payload) & 0x7fffffff;
  if (h.stream == 0) {
    if (increment == 0 || conn_send_window_ + increment > kMaxWindow) {
      return fail(increment == 0 ? ErrorCode::kProtocol : ErrorCode::kFlowControl);
    }
    conn_send_window_ += increment;
    events.push_back(Event{.kind = Event::Kind::kWindow, .stream = 0});
    return true;
  }
  if (h.stream > last_stream_) return fail(ErrorCode::kProtocol);  // an idle stream
  auto it = streams_.find(h.stream);
  if (it == streams_.end()) return true;  // closed meanwhile
  if (increment == 0 || it->second.send_window + increment > kMaxWindow) {
    stream_error(h.stream, increment == 0 ? ErrorCode::kProtocol : ErrorCode::kFlowControl, events);
    return true;
  }
  it->second.send_window += increment;
  events.push_back(Event{.kind = Event::Kind::kWindow, .stream = h.stream});
  return true;
}

bool ServerConnection::on_rst_stream(const FrameHeader& h, std::string_view payload, std::vector<Event>& events) {
  if (h.stream == 0 || h.stream > last_stream_) return fail(ErrorCode::kProtocol);
  if (payload.size() != 4) return fail(ErrorCode::kFrameSize);
  if (streams_.erase(h.stream) > 0) events.push_back(Event{.kind = Event::Kind::kReset, .stream = h.stream});
  return true;
}

void ServerConnection::send_headers(std::uint32_t stream, std::string_view block, bool end_stream) {
  auto it = streams_.find(stream);
  if (it == streams_.end() || it->second.local_closed) return;
  const std::size_t max = std::min<std::size_t>(peer_max_frame_, kMaxFrame);
  std::uint8_t type = kHeaders;
  std::uint8_t flags = end_stream ? kEndStream : 0;
  do {
    const auto piece = block.substr(0, max);
    block.remove_prefix(piece.size());
    frame(type, flags | (block.empty() ? kEndHeaders : 0), stream, piece);
    type = kContinuation;
    flags = 0;
  } while (!block.empty());
  if (end_stream) {
    it->second.local_closed = true;
    close_if_done(stream);
  }
}

std::size_t ServerConnection::send_window(std::uint32_t stream) const {
  const auto it = streams_.find(stream);
  if (it == streams_.end() || it->second.local_closed) return 0;
  return static_cast<std::size_t>(std::max<std::int64_t>(0, std::min(conn_send_window_, it->second.send_window)));
}

void ServerConnection::send_data(std::uint32_t stream, std::string_view bytes, bool end_stream) {
  auto it = streams_.find(stream);
  if (it == streams_.end() || it->second.local_closed) return;
  do {
    const auto piece = bytes.substr(0, kMaxFrame);
    bytes.remove_prefix(piece.size());
    frame(kData, end_stream && bytes.empty() ? kEndStream : 0, stream, piece);
    conn_send_window_ -= static_cast<std::int64_t>(piece.size());
    it->second.send_window -= static_cast<std::int64_t>(piece.size());
  } while (!bytes.empty());
  if (end_stream) {
    it->second.local_closed = true;
    close_if_done(stream);
  }
}

void ServerConnection::reset(std::uint32_t stream, ErrorCode code) {
  if (streams_.erase(stream) == 0) return;
  std::string payload;
  append32(payload, static_cast<std::uint32_t>(code));
  frame(kRstStream, 0, stream, payload);
}

void ServerConnection::consumed(std::uint32_t stream, std::size_t n) {
  conn_unacked_ += n;
  if (conn_unacked_ >= settings_.connection_window / 2) {
    window_update(0, static_cast<std::uint32_t>(conn_unacked_));
    conn_recv_window_ += static_cast<std::int64_t>(conn_unacked_);
    conn_unacked_ = 0;
  }
  auto it = stream == 0 ? streams_.end() : streams_.find(stream);
  if (it == streams_.end() || it->second.remote_closed) return;  // no more is coming on it
  Stream& s = it->second;
  s.unacked += n;
  if (s.unacked >= settings_.stream_window / 2) {
    window_update(stream, static_cast<std::uint32_t>(s.unacked));
    s.recv_window += static_cast<std::int64_t>(s.unacked);
    s.unacked = 0;
  }
}

}  // namespace prisn::proxy::detail::h2
