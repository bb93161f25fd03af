// SPDX-License-Identifier: MIT
#include "prisn/proxy/route_table.hpp"

namespace prisn::proxy {

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

std::string_view absolute_authority(std::string_view target) {
  std::size_t start = 0;
  if (target.starts_with("http://")) {
    start = 7;
  } else if (target.starts_with("https://")) {
    start = 8;
  } else {
    return {};
  }
  auto authority = target.substr(start, target.find_first_of("/?#", start) - start);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);  // userinfo
  return authority;
}

bool path_has_prefix(std::string_view path, std::string_view prefix) {
  if (prefix == "/") return true;
  if (!path.starts_with(prefix)) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

}  // namespace prisn::proxy
