// SPDX-License-Identifier: MIT
// A client's request head is untrusted: what the L7 router does with it before any instance
// sees it (Host check, route matching on the normalised path, affinity cookie, header
// rewriting) must never crash, and the normalised path must be a fixed point with no dot
// segments or empty segments left, so no spelling of a path can reach another route.
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "prisn/proxy/balancer.hpp"
#include "prisn/proxy/route_table.hpp"
#include "proxy/http_rewrite.hpp"

namespace {

namespace http = boost::beast::http;
using namespace prisn::proxy;

void check(bool ok) {
  if (!ok) std::abort();
}

void check_normalised(std::string_view path) {
  std::string scratch;
  const std::string normalised(normalise_path(path, scratch));
  if (!path.starts_with('/')) return;
  check(normalised.starts_with('/'));
  check(normalised.find("//") == std::string::npos);
  check(normalised.find("/./") == std::string::npos && normalised.find("/../") == std::string::npos);
  check(!normalised.ends_with("/.") && !normalised.ends_with("/.."));
  std::string again_scratch;
  check(normalise_path(normalised, again_scratch) == normalised);  // a fixed point
}

const RouteTable<int>& routes() {
  static const RouteTable<int> table = [] {
    RouteTable<int> t;
    t.add("api.example.com", "/", 1);
    t.add("api.example.com", "/admin", 2);
    t.add("*.example.com", "/", 3);
    t.add("", "/public", 4);
    return t;
  }();
  return table;
}

void route(const http::request_header<>& req) {
  const std::string_view host = req[http::field::host];
  const std::string_view target = req.target();
  (void)is_valid_authority(host);
  (void)is_valid_authority(absolute_authority(target));
  (void)routes().match(host, origin_form(target));
  check_normalised(request_path(target));
}

void choose_by_cookie(const http::request_header<>& req) {
  static Balancer balancer({.affinity = Affinity::kCookie, .cookie_key = "fuzz"});
  const std::vector<Balancer::Candidate> candidates = {{"api-0", 0}, {"api-1", 0}};
  const auto cookie = detail::cookie_value(req[http::field::cookie], Balancer::kCookie);
  const auto choice = balancer.choose(candidates, {.client_ip = "127.0.0.1", .cookie = cookie}, {},
                                      Balancer::Clock::now(), 7);
  check(choice && choice->index < candidates.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_normalised(bytes);  // any bytes as a path, too
  http::request_parser<http::empty_body> parser;
  parser.header_limit(16 * 1024);
  parser.eager(false);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec || !parser.is_header_done()) return 0;
  http::request_header<> req = parser.get().base();
  route(req);
  choose_by_cookie(req);
  detail::prepare_upstream_request(req, {.client_ip = "192.0.2.1", .tls = true, .upgrade = detail::is_upgrade(req)});
  return 0;
}
