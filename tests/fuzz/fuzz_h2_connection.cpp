// SPDX-License-Identifier: MIT
// An HTTP/2 client's bytes are untrusted: the connection state machine (frames, header
// blocks and HPACK, flow control, stream states) and the conversion of each request to
// HTTP/1.1 must never crash, and no request that reaches an instance may carry bytes that
// would end its line or header early (CR, LF, NUL; white space in the target).
#include <boost/beast/http/fields.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proxy/h2_connection.hpp"
#include "proxy/h2_request.hpp"

namespace {

namespace h2 = prisn::proxy::detail::h2;
namespace http = boost::beast::http;

void check(bool ok) {
  if (!ok) std::abort();
}

void check_request(const std::vector<prisn::proxy::detail::hpack::Header>& block) {
  http::request_header<> req;
  if (!h2::to_http1(block, req).empty()) return;
  for (const char c : std::string_view(req.target())) check(static_cast<unsigned char>(c) > 0x20);
  for (const auto& f : req) {
    check(f.value().find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos);
  }
}

}  // namespace

// The input is the client's byte stream after the preface, fed in pieces whose sizes the
// first byte picks; the router's side answers each request and passes its body on.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 64;
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  h2::ServerConnection conn(h2::Settings{.max_concurrent_streams = 4, .stream_window = 4096, .header_list_limit = 4096});
  std::vector<h2::Event> events;
  bool ok = conn.feed(h2::kPreface, events);
  while (ok && !bytes.empty()) {
    const auto next = bytes.substr(0, piece);
    bytes.remove_prefix(next.size());
    events.clear();
    ok = conn.feed(next, events);
    for (const auto& e : events) {
      if (e.kind == h2::Event::Kind::kRequest) {
        check_request(e.headers);
        if (e.stream % 3 == 0) conn.send_headers(e.stream, "\x88", e.stream % 2 == 0);
      } else if (e.kind == h2::Event::Kind::kData) {
        conn.consumed(e.stream, e.data.size());
        const std::size_t window = conn.send_window(e.stream);
        conn.send_data(e.stream, std::string(std::min<std::size_t>(window, 100), 'x'), e.end_stream);
      }
    }
    if (conn.out().size() > 1 << 20) conn.out().clear();
  }
  return 0;
}
