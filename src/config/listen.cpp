// SPDX-License-Identifier: MIT
#include <fmt/format.h>

#include <boost/asio/ip/address.hpp>
#include <algorithm>
#include <cctype>
#include <charconv>

#include "prisn/config/config.hpp"

namespace prisn::config {
namespace {

Result<std::uint16_t> parse_port(std::string_view text, std::string_view whole) {
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value > 65535) {
    return Error::invalid(fmt::format("'{}': port must be a number from 0 to 65535", whole));
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::string ListenAddress::to_string() const {
  if (!enabled) {
    return "off";
  }
  if (host.find(':') != std::string::npos) {
    return fmt::format("[{}]:{}", host, port);
  }
  return fmt::format("{}:{}", host, port);
}

Result<ListenAddress> parse_listen(std::string_view text) {
  if (text == "off" || text == "false" || text == "disabled") {
    return ListenAddress{false, "", 0};
  }
  ListenAddress out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Error::invalid(fmt::format("'{}' is not HOST:PORT", text));
    }
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Error::invalid(fmt::format("'{}' is not HOST:PORT (or 'off')", text));
    }
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (out.host.find(':') != std::string::npos) {
      return Error::invalid(fmt::format("'{}': write IPv6 addresses as [ADDR]:PORT", text));
    }
  }
  if (out.host.empty() || out.host == "*") {
    out.host = "0.0.0.0";
  } else if (out.host == "localhost") {  // the name every resolver gives the loopback address
    out.host = "127.0.0.1";
  }
  boost::system::error_code not_ip;
  boost::asio::ip::make_address(out.host, not_ip);
  if (not_ip) {
    return Error::invalid(fmt::format("'{}': the host must be an IP address or localhost", text));
  }
  auto port = parse_port(port_text, text);
  if (!port) {
    return port.error();
  }
  out.port = *port;
  return out;
}

Result<void> check_upstream(std::string_view text) {
  std::string_view host = text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return Error::invalid(fmt::format("'{}' is not an address", text));
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return Error::invalid(fmt::format("'{}' is not [ADDR]:PORT", text));
      if (auto port = parse_port(text.substr(close + 2), text); !port || *port == 0) {
        return Error::invalid(fmt::format("'{}': port must be a number from 1 to 65535", text));
      }
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    host = text.substr(0, text.find(':'));
    if (auto port = parse_port(text.substr(text.find(':') + 1), text); !port || *port == 0) {
      return Error::invalid(fmt::format("'{}': port must be a number from 1 to 65535", text));
    }
  }
  boost::system::error_code ec;
  (void)boost::asio::ip::make_address(std::string(host), ec);
  if (ec) return Error::invalid(fmt::format("'{}' is not an IP address (\"host\" or \"host:port\")", text));
  return {};
}

Result<void> check_domain(std::string_view text) {
  if (text.ends_with('.')) text.remove_suffix(1);
  if (text.empty() || text.size() > 253) return Error::invalid(fmt::format("'{}' is not a domain name", text));
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto dot = std::min(text.find('.', start), text.size());
    const auto label = dot - start;
    if (label == 0 || label > 63) return Error::invalid(fmt::format("'{}' is not a domain name", text));
    // Letters, digits, '-' and '_' (SRV labels): the zone's names are DNS names.
    const auto part = text.substr(start, label);
    const bool plain = std::all_of(part.begin(), part.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
    if (!plain) return Error::invalid(fmt::format("'{}' is not a domain name", text));
    start = dot + 1;
  }
  return {};
}

Result<PortRange> parse_port_range(std::string_view text) {
  const auto dash = text.find('-');
  if (dash == std::string_view::npos) {
    return Error::invalid(fmt::format("'{}' is not a port range LO-HI", text));
  }
  auto lo = parse_port(text.substr(0, dash), text);
  auto hi = parse_port(text.substr(dash + 1), text);
  if (!lo || !hi || *lo == 0 || *hi < *lo) {
    return Error::invalid(
        fmt::format("'{}' is not a port range LO-HI with 1 <= LO <= HI <= 65535", text));
  }
  return PortRange{*lo, *hi};
}

}  // namespace prisn::config
