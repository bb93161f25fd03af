// SPDX-License-Identifier: MIT
#include "proxy/http_wire.hpp"

#include <array>
#include <charconv>

namespace prisn::proxy::detail {
namespace {

void append_version(std::string& out, unsigned version) {
  out += "HTTP/";
  out += static_cast<char>('0' + version / 10);
  out += '.';
  out += static_cast<char>('0' + version % 10);
}

void append_fields(std::string& out, const http::fields& fields) {
  for (const auto& f : fields) {
    const auto name = f.name_string();
    const auto value = f.value();
    out.append(name.data(), name.size());
    out += ": ";
    out.append(value.data(), value.size());
    out += "\r\n";
  }
  out += "\r\n";
}

}  // namespace

void append_header(std::string& out, const http::request_header<>& req) {
  const auto method = req.method_string();
  const auto target = req.target();
  out.append(method.data(), method.size());
  out += ' ';
  out.append(target.data(), target.size());
  out += ' ';
  append_version(out, req.version());
  out += "\r\n";
  append_fields(out, req);
}

void append_header(std::string& out, const http::response_header<>& res) {
  append_version(out, res.version());
  std::array<char, 4> code{' ', '0', '0', '0'};
  const unsigned status = res.result_int();
  code[1] = static_cast<char>('0' + status / 100 % 10);
  code[2] = static_cast<char>('0' + status / 10 % 10);
  code[3] = static_cast<char>('0' + status % 10);
  out.append(code.data(), code.size());
  out += ' ';
  auto reason = res.reason();
  if (reason.empty()) reason = http::obsolete_reason(res.result());
  out.append(reason.data(), reason.size());
  out += "\r\n";
  append_fields(out, res);
}

void append_chunk_size(std::string& out, std::size_t size) {
  std::array<char, 2 * sizeof(std::size_t)> hex{};
  const auto end = std::to_chars(hex.data(), hex.data() + hex.size(), size, 16).ptr;
  out.append(hex.data(), end);
  out += "\r\n";
}

std::string_view chunk_tail(bool had_data, bool last) {
  static constexpr std::string_view kBoth = "\r\n0\r\n\r\n";  // chunk end, then the last chunk
  if (had_data) return last ? kBoth : kBoth.substr(0, 2);
  return last ? kBoth.substr(2) : std::string_view();
}

std::size_t drop_leading_empty_lines(boost::beast::flat_buffer& buffer, std::size_t most) {
  const auto data = buffer.data();
  const std::string_view bytes(static_cast<const char*>(data.data()), std::min(data.size(), most));
  const std::size_t n = std::min(bytes.find_first_not_of("\r\n"), bytes.size());
  buffer.consume(n);
  return n;
}

}  // namespace prisn::proxy::detail
