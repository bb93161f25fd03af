// SPDX-License-Identifier: MIT
#include "proxy/h2_connection.hpp"

#include <gtest/gtest.h>

namespace prisn::proxy::detail::h2 {
namespace {

using Kind = Event::Kind;

std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, std::string_view payload) {
  std::string f;
  const auto n = static_cast<std::uint32_t>(payload.size());
  f += static_cast<char>(n >> 16);
  f += static_cast<char>(n >> 8);
  f += static_cast<char>(n);
  f += static_cast<char>(type);
  f += static_cast<char>(flags);
  for (int shift = 24; shift >= 0; shift -= 8) f += static_cast<char>(stream >> shift);
  f += payload;
  return f;
}

std::string u32(std::uint32_t v) {
  std::string s;
  for (int shift = 24; shift >= 0; shift -= 8) s += static_cast<char>(v >> shift);
  return s;
}

std::string request_block(std::string_view method = "GET", std::string_view extra_name = "",
                          std::string_view extra_value = "") {
  std::string b;
  hpack::encode(b, ":method", method);
  hpack::encode(b, ":scheme", "https");
  hpack::encode(b, ":path", "/x");
  hpack::encode(b, ":authority", "a.test");
  if (!extra_name.empty()) hpack::encode(b, extra_name, extra_value);
  return b;
}

// The frames in `out`: (type, flags, stream, payload).
struct Parsed {
  std::uint8_t type, flags;
  std::uint32_t stream;
  std::string payload;
};
std::vector<Parsed> frames_in(std::string out) {
  std::vector<Parsed> v;
  std::size_t at = 0;
  while (out.size() - at >= 9) {
    const std::uint32_t n = (static_cast<std::uint8_t>(out[at]) << 16) | (static_cast<std::uint8_t>(out[at + 1]) << 8) |
                            static_cast<std::uint8_t>(out[at + 2]);
    std::uint32_t stream = 0;
    for (int i = 0; i < 4; ++i) stream = (stream << 8) | static_cast<std::uint8_t>(out[at + 5 + i]);
    v.push_back({static_cast<std::uint8_t>(out[at + 3]), static_cast<std::uint8_t>(out[at + 4]), stream & 0x7fffffff,
                 out.substr(at + 9, n)});
    at += 9 + n;
  }
  return v;
}

class H2ConnectionTest : public ::testing::Test {
 protected:
  // A connection past the preface and the client's SETTINGS, its output so far taken.
  void SetUp() override {
    ASSERT_TRUE(c.feed(std::string(kPreface) + frame(0x4, 0, 0, ""), events));
    const auto sent = frames_in(c.out());
    ASSERT_GE(sent.size(), 3u);
    EXPECT_EQ(sent[0].type, 0x4);  // our SETTINGS
    EXPECT_EQ(sent[1].type, 0x8);  // the connection window raised
    EXPECT_EQ(sent.back().type, 0x4);
    EXPECT_EQ(sent.back().flags, 0x1);  // the ACK of theirs
    c.out().clear();
  }
  bool feed(const std::string& bytes) {
    events.clear();
    return c.feed(bytes, events);
  }
  ServerConnection c{Settings{.max_concurrent_streams = 2, .stream_window = 1000, .connection_window = 100000}};
  std::vector<Event> events;
};

TEST_F(H2ConnectionTest, AHeadersFrameIsARequest) {
  ASSERT_TRUE(feed(frame(0x1, 0x5, 1, request_block())));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::kRequest);
  EXPECT_EQ(events[0].stream, 1u);
  EXPECT_TRUE(events[0].end_stream);
  EXPECT_EQ(events[0].headers[3], (hpack::Header{":authority", "a.test"}));
  EXPECT_TRUE(c.stream_open(1));
  c.send_headers(1, "\x88", true);
  EXPECT_FALSE(c.stream_open(1));  // both sides ended
}

TEST_F(H2ConnectionTest, ABlockSplitAcrossContinuationFrames) {
  const auto block = request_block();
  ASSERT_TRUE(feed(frame(0x1, 0x1, 1, block.substr(0, 5)) + frame(0x9, 0, 1, block.substr(5, 5)) +
                   frame(0x9, 0x4, 1, block.substr(10))));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].headers.size(), 4u);
}

TEST_F(H2ConnectionTest, AnotherFrameInsideABlockEndsTheConnection) {
  EXPECT_FALSE(feed(frame(0x1, 0x1, 1, request_block().substr(0, 5)) + frame(0x6, 0, 0, std::string(8, 'p'))));
  const auto sent = frames_in(c.out());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].type, 0x7);  // GOAWAY
  EXPECT_EQ(sent[0].payload.substr(4), u32(0x1));  // PROTOCOL_ERROR
  EXPECT_FALSE(feed(frame(0x6, 0, 0, std::string(8, 'p'))));  // nothing more is taken
}

TEST_F(H2ConnectionTest, BodyDataAndFlowControl) {
  ASSERT_TRUE(feed(frame(0x1, 0x4, 1, request_block("POST"))));
  ASSERT_TRUE(feed(frame(0x0, 0, 1, std::string(600, 'a'))));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::kData);
  EXPECT_EQ(events[0].data.size(), 600u);
  c.consumed(1, 600);  // more than half the stream window: given back
  auto sent = frames_in(c.out());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].type, 0x8);
  EXPECT_EQ(sent[0].stream, 1u);
  EXPECT_EQ(sent[0].payload, u32(600));
  c.out().clear();
  // Past the stream's window (1000 - 600 + 600 = 1000): the stream is reset, the connection goes on.
  ASSERT_TRUE(feed(frame(0x0, 0, 1, std::string(1001, 'b'))));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::kReset);
  sent = frames_in(c.out());
  ASSERT_EQ(sent.back().type, 0x3);
  EXPECT_EQ(sent.back().payload, u32(0x3));  // FLOW_CONTROL_ERROR
}

TEST_F(H2ConnectionTest, PaddingIsStrippedAndGivenBack) {
  ASSERT_TRUE(feed(frame(0x1, 0x4, 1, request_block("POST"))));
  ASSERT_TRUE(feed(frame(0x0, 0x9, 1, std::string("\x03") + "abc" + std::string(3, '\0'))));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "abc");
  EXPECT_TRUE(events[0].end_stream);
}

TEST_F(H2ConnectionTest, ABodyLongerOrShorterThanItsContentLengthIsRefused) {
  ASSERT_TRUE(feed(frame(0x1, 0x4, 1, request_block("POST", "content-length", "3"))));
  ASSERT_TRUE(feed(frame(0x0, 0x1, 1, "ab")));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::kReset);
  ASSERT_TRUE(feed(frame(0x1, 0x4, 3, request_block("POST", "content-length", "3"))));
  ASSERT_TRUE(feed(frame(0x0, 0x0, 3, "abcd")));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::kReset);
  EXPECT_FALSE(c.stream_open(3));
}

TEST_F(H2ConnectionTest, StreamsPastTheLimitAreRefused) {
  ASSERT_TRUE(feed(frame(0x1, 0x4, 1, request_block()) + frame(0x1, 0x4, 3, request_block()) +
                   frame(0x1, 0x4, 5, request_block())));
  EXPECT_EQ(events.size(), 2u);
  const auto sent = frames_in(c.out());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].type, 0x3);
  EXPECT_EQ(sent[0].stream, 5u);
  EXPECT_EQ(sent[0].payload, u32(0x7));  // REFUSED_STREAM
}

TEST_F(H2ConnectionTest, StreamIdsMustGrowAndBeOdd) {
  ASSERT_TRUE(feed(frame(0x1, 0x5, 3, request_block())));
  EXPECT_FALSE(feed(frame(0x1, 0x5, 1, request_block())));
}

TEST_F(H2ConnectionTest, EvenStreamIdIsAProtocolError) {
  EXPECT_FALSE(feed(frame(0x1, 0x5, 2, request_block())));
}

TEST_F(H2ConnectionTest, SendWindowFollowsWindowUpdatesAndSettings) {
  ASSERT_TRUE(feed(frame(0x1, 0x5, 1, request_block())));
  EXPECT_EQ(c.send_window(1), 65535u);
  c.send_data(1, std::string(65535, 'x'), false);
  EXPECT_EQ(c.send_window(1), 0u);
  ASSERT_TRUE(feed(frame(0x8, 0, 1, u32(100))));
  EXPECT_EQ(c.send_window(1), 0u);  // the connection's window is still spent
  ASSERT_TRUE(feed(frame(0x8, 0, 0, u32(1000))));
  EXPECT_EQ(c.send_window(1), 100u);
  EXPECT_EQ(events.back().kind, Kind::kWindow);
  // SETTINGS_INITIAL_WINDOW_SIZE moves every stream's window by the difference.
  ASSERT_TRUE(feed(frame(0x4, 0, 0, std::string("\x00\x04", 2) + u32(65535 + 50))));
  EXPECT_EQ(c.send_window(1), 150u);
  const auto sent = frames_in(c.out());
  std::size_t data_frames = 0;
  for (const auto& f : sent) data_frames += f.type == 0x0;
  EXPECT_EQ(data_frames, 4u);  // 65535 bytes in frames of at most 16384
}

TEST_F(H2ConnectionTest, AStreamThatDependsOnItselfIsReset) {
  ASSERT_TRUE(feed(frame(0x1, 0x25, 1, u32(1) + "\x10" + request_block())));  // PRIORITY flag, depends on 1
  EXPECT_TRUE(events.empty());
  auto sent = frames_in(c.out());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].type, 0x3);
  EXPECT_EQ(sent[0].payload, u32(0x1));
  c.out().clear();
  ASSERT_TRUE(feed(frame(0x1, 0x25, 3, u32(1) + "\x10" + request_block())));  // another stream's dependency: fine
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::kRequest);
  ASSERT_TRUE(feed(frame(0x2, 0, 5, u32(5) + "\x10")));  // a PRIORITY frame naming itself
  sent = frames_in(c.out());
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().type, 0x3);
  EXPECT_EQ(sent.back().stream, 5u);
}

TEST_F(H2ConnectionTest, ALargeResponseBlockGoesInContinuationFrames) {
  ASSERT_TRUE(feed(frame(0x1, 0x5, 1, request_block())));
  const std::string block(40000, 'h');
  c.send_headers(1, block, true);
  const auto sent = frames_in(c.out());
  ASSERT_EQ(sent.size(), 3u);  // 16384 + 16384 + 7232
  EXPECT_EQ(sent[0].type, 0x1);
  EXPECT_EQ(sent[0].flags, 0x1);  // END_STREAM on the HEADERS frame, END_HEADERS on the last
  EXPECT_EQ(sent[1].type, 0x9);
  EXPECT_EQ(sent[1].flags, 0x0);
  EXPECT_EQ(sent[2].type, 0x9);
  EXPECT_EQ(sent[2].flags, 0x4);
  EXPECT_EQ(sent[0].payload + sent[1].payload + sent[2].payload, block);
  EXPECT_FALSE(c.stream_open(1));
}

TEST_F(H2ConnectionTest, PingIsAnswered) {
  ASSERT_TRUE(feed(frame(0x6, 0, 0, "12345678")));
  const auto sent = frames_in(c.out());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].type, 0x6);
  EXPECT_EQ(sent[0].flags, 0x1);
  EXPECT_EQ(sent[0].payload, "12345678");
}

TEST_F(H2ConnectionTest, OversizedFrameAndBadHpackEndTheConnection) {
  EXPECT_FALSE(feed(frame(0x0, 0, 1, std::string(16385, 'x'))));
}

TEST_F(H2ConnectionTest, UndecodableBlockIsACompressionError) {
  EXPECT_FALSE(feed(frame(0x1, 0x5, 1, "\x80")));
  const auto sent = frames_in(c.out());
  EXPECT_EQ(sent.back().payload.substr(4), u32(0x9));
}

TEST_F(H2ConnectionTest, ResetByTheClient) {
  ASSERT_TRUE(feed(frame(0x1, 0x4, 1, request_block("POST"))));
  ASSERT_TRUE(feed(frame(0x3, 0, 1, u32(0x8))));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::kReset);
  EXPECT_FALSE(c.stream_open(1));
  ASSERT_TRUE(feed(frame(0x0, 0, 1, "late")));  // DATA that crossed the reset: STREAM_CLOSED, no event
  EXPECT_TRUE(events.empty());
}

TEST_F(H2ConnectionTest, GoawayRefusesLaterStreams) {
  c.goaway(ErrorCode::kNoError);
  c.out().clear();
  ASSERT_TRUE(feed(frame(0x1, 0x5, 1, request_block())));
  EXPECT_TRUE(events.empty());
  const auto sent = frames_in(c.out());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].payload, u32(0x7));
}

TEST_F(H2ConnectionTest, LongHeaderListIsFlagged) {
  ServerConnection small{Settings{.header_list_limit = 100}};
  std::vector<Event> ev;
  ASSERT_TRUE(small.feed(std::string(kPreface) + frame(0x4, 0, 0, "") +
                             frame(0x1, 0x5, 1, request_block("GET", "x-long", std::string(200, 'v'))),
                         ev));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(ev[0].too_large);
}

TEST(H2PrefaceTest, SomethingElseIsRefused) {
  ServerConnection c;
  std::vector<Event> ev;
  EXPECT_TRUE(c.feed("PRI * HTTP/2", ev));  // so far, so good
  EXPECT_FALSE(c.feed(".1\r\n", ev));
}

TEST(H2PrefaceTest, SettingsMustComeFirst) {
  ServerConnection c;
  std::vector<Event> ev;
  EXPECT_FALSE(c.feed(std::string(kPreface) + frame(0x6, 0, 0, "12345678"), ev));
}

}  // namespace
}  // namespace prisn::proxy::detail::h2
