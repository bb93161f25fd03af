// SPDX-License-Identifier: MIT
#include "prisn/proxy/route_table.hpp"

#include <vector>

#include "prisn/core/ascii.hpp"
#include "prisn/core/hex.hpp"

namespace prisn::proxy {
namespace {

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

bool is_unreserved(char c) { return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

bool is_sub_delim(char c) { return std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos; }

// `path` with %XX of unreserved characters decoded ("%61" is "a", RFC 3986 §6.2.2.2); other
// escapes kept, with upper-case digits, so "%2F" stays inside its segment.
std::string decode_unreserved(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    const int hi = path[i] == '%' && i + 2 < path.size() ? hex_digit_value(path[i + 1]) : -1;
    const int lo = hi >= 0 ? hex_digit_value(path[i + 2]) : -1;
    if (lo < 0) {
      // A '%' that starts no escape is written as one ("%25"), else it could start a new
      // escape with the characters decoded after it ("%%341" would become "%41"), and the
      // result would decode again to another path.
      out += path[i] == '%' ? std::string_view("%25") : std::string_view(&path[i], 1);
      continue;
    }
    const char c = static_cast<char>(hi * 16 + lo);
    if (is_unreserved(c)) {
      out += c;
    } else {
      static constexpr char kDigits[] = "0123456789ABCDEF";
      out += {'%', kDigits[hi], kDigits[lo]};
    }
    i += 2;
  }
  return out;
}

}  // namespace

std::string normalise_host(std::string_view host) {
  if (host.starts_with('[')) {  // [v6]:port
    const auto close = host.find(']');
    host = host.substr(0, close == std::string_view::npos ? host.size() : close + 1);
  } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);  // "example.com." is example.com
  std::string out(host);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view request_path(std::string_view target) {
  const auto end = target.find_first_of("?#");
  auto path = target.substr(0, end);
  if (path.starts_with("http://") || path.starts_with("https://")) {  // absolute-form (RFC 9112 §3.2.2)
    const auto slash = path.find('/', path.find("//") + 2);
    path = slash == std::string_view::npos ? std::string_view("/") : path.substr(slash);
  }
  return path.empty() ? std::string_view("/") : path;
}

namespace {

// The length of an absolute-form target's "http://" or "https://" (any case: RFC 9110
// §4.2.3), or 0 for another form.
std::size_t scheme_length(std::string_view target) {
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() && ascii_iequals(target.substr(0, scheme.size()), scheme)) {
      return scheme.size();
    }
  }
  return 0;
}

}  // namespace

std::string_view absolute_authority(std::string_view target) {
  const std::size_t start = scheme_length(target);
  if (start == 0) return {};
  auto authority = target.substr(start, target.find_first_of("/?#", start) - start);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);  // userinfo
  return authority;
}

std::string origin_form(std::string_view target) {
  const std::size_t start = scheme_length(target);
  if (start == 0) return std::string(target);
  const auto rest = target.find_first_of("/?#", start);
  if (rest == std::string_view::npos) return "/";
  const auto tail = target.substr(rest);
  return tail.starts_with('/') ? std::string(tail) : "/" + std::string(tail);  // "http://a?q" → "/?q"
}

bool is_valid_authority(std::string_view authority) {
  std::string_view host = authority, port;
  if (authority.starts_with('[')) {  // IP-literal: hex digits, ':' and '.' (and "v..." forms, rare)
    const auto close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (const char c : authority.substr(1, close - 1)) {
      if (!is_unreserved(c) && c != ':' && !is_sub_delim(c)) return false;
    }
    host = {};
    port = authority.substr(close + 1);
    if (!port.empty() && !port.starts_with(':')) return false;
    if (!port.empty()) port.remove_prefix(1);
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  for (std::size_t i = 0; i < host.size(); ++i) {  // reg-name or IPv4
    const char c = host[i];
    if (c == '%') {
      if (i + 2 >= host.size() || hex_digit_value(host[i + 1]) < 0 || hex_digit_value(host[i + 2]) < 0) return false;
      i += 2;
    } else if (!is_unreserved(c) && !is_sub_delim(c)) {
      return false;
    }
  }
  if (port.size() > 5) return false;
  for (const char c : port) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string_view normalise_path(std::string_view path, std::string& scratch) {
  if (path.find('%') == std::string_view::npos && path.find("/.") == std::string_view::npos &&
      path.find("//") == std::string_view::npos) {
    return path;  // the usual case: nothing to do, nothing allocated
  }
  const std::string decoded = decode_unreserved(path);
  // Remove dot segments (RFC 3986 §5.2.4) and merge repeated slashes, as nginx does.
  std::vector<std::string_view> segments;
  std::string_view rest = decoded;
  const bool trailing_slash = rest.ends_with('/') || rest.ends_with("/.") || rest.ends_with("/..");
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const auto segment = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
  }
  scratch = "/";
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) scratch += '/';
    scratch += segments[i];
  }
  if (trailing_slash && !segments.empty()) scratch += '/';
  return scratch;
}

std::string route_path(std::string_view path) {
  if (path.ends_with("/*")) path.remove_suffix(1);
  std::string scratch;
  std::string out(normalise_path(path, scratch));
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

bool path_has_prefix(std::string_view path, std::string_view prefix) {
  if (prefix == "/") return true;
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

}  // namespace prisn::proxy
