// SPDX-License-Identifier: MIT
#include "proxy/h2_request.hpp"

#include <boost/beast/http/field.hpp>
#include <string_view>

#include "proxy/http_rewrite.hpp"

namespace prisn::proxy::detail::h2 {

namespace {

// A token (RFC 9110 §5.6.2); field names in HTTP/2 in lower case only (RFC 9113 §8.2.1).
bool valid_token(std::string_view token, bool upper_allowed) {
  if (token.empty()) return false;
  for (const char c : token) {
    const bool ok = (c >= 'a' && c <= 'z') || (upper_allowed && c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// No NUL, CR or LF anywhere, no white space at either end (RFC 9113 §8.2.1).
bool valid_value(std::string_view value) {
  if (value.find_first_of(std::string_view("\0\r\n", 3)) != std::string_view::npos) return false;
  return value.empty() || (value.front() != ' ' && value.front() != '\t' && value.back() != ' ' && value.back() != '\t');
}

bool connection_specific(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" || name == "transfer-encoding" ||
         name == "upgrade";
}

}  // namespace

std::string to_http1(const std::vector<hpack::Header>& block, http::request_header<>& out) {
  std::string_view method, scheme, authority, path;
  bool regular_seen = false;
  std::string cookie;
  out = {};
  out.version(11);
  for (const auto& h : block) {
    if (!valid_value(h.value)) return "invalid character in the value of " + h.name;
    if (h.name.starts_with(':')) {
      if (regular_seen) return "pseudo-header " + h.name + " after the regular fields";
      std::string_view* slot = h.name == ":method"      ? &method
                               : h.name == ":scheme"    ? &scheme
                               : h.name == ":authority" ? &authority
                               : h.name == ":path"      ? &path
                                                        : nullptr;
      if (slot == nullptr) return "unknown pseudo-header " + h.name;
      if (!slot->empty()) return "more than one " + h.name;
      if (h.value.empty()) return "empty " + h.name;
      *slot = h.value;
      continue;
    }
    regular_seen = true;
    if (!valid_token(h.name, false)) return "invalid header name";
    if (connection_specific(h.name)) return "connection-specific header " + h.name;
    if (h.name == "te" && h.value != "trailers") return "te other than trailers";
    if (h.name == "cookie") {
      if (!cookie.empty()) cookie += "; ";
      cookie += h.value;
      continue;
    }
    if (h.name == "content-length") {  // one number, or the instance and the router could frame the body apart
      if (h.value.empty() || h.value.size() > 18 || h.value.find_first_not_of("0123456789") != std::string::npos) {
        return "invalid content-length";
      }
      if (out.count(http::field::content_length) > 0) return "more than one content-length";
    }
    if (h.name == "host") {
      if (authority.empty()) out.set(http::field::host, h.value);
      continue;
    }
    out.insert(h.name, h.value);
  }
  if (method.empty()) return "missing :method";
  if (method == "CONNECT") return "CONNECT is not supported";
  if (scheme.empty() || path.empty()) return path.empty() ? "missing :path" : "missing :scheme";
  if (path.front() != '/' && !(path == "*" && method == "OPTIONS")) return "invalid :path";
  for (const char c : path) {  // the request line's target: no white space or controls (RFC 9112 §3.2)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return "invalid character in :path";
  }
  if (!valid_token(method, true)) return "invalid :method";
  out.method_string(method);
  out.target(path);
  if (!authority.empty()) out.set(http::field::host, authority);
  if (!cookie.empty()) out.set(http::field::cookie, cookie);
  return "";
}

void to_block(http::response_header<>& res, std::string& block) {
  strip_hop_by_hop(res);
  hpack::encode_status(block, res.result_int());
  std::string name;
  for (const auto& f : res) {
    if (f.name() == http::field::transfer_encoding) continue;
    name.assign(f.name_string());
    for (char& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    hpack::encode(block, name, f.value());
  }
}

}  // namespace prisn::proxy::detail::h2
