// SPDX-License-Identifier: MIT
#include "prisn/dns/name.hpp"

#include <fmt/format.h>

namespace prisn::dns {
namespace {

bool plain_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// Reads one escape ("\." or "\065") at text[i] (the backslash); returns the byte and advances i.
Result<char> read_escape(std::string_view text, std::size_t& i) {
  if (i + 1 >= text.size()) return Error::invalid("name ends inside an escape");
  const char next = text[i + 1];
  if (next < '0' || next > '9') {
    i += 2;
    return next;
  }
  if (i + 4 > text.size()) return Error::invalid("a \\DDD escape needs three digits");
  int value = 0;
  for (std::size_t k = 1; k <= 3; ++k) {
    const char d = text[i + k];
    if (d < '0' || d > '9') return Error::invalid("a \\DDD escape needs three digits");
    value = value * 10 + (d - '0');
  }
  if (value > 255) return Error::invalid("a \\DDD escape is above 255");
  i += 4;
  return static_cast<char>(value);
}

}  // namespace

Result<Name> Name::from_text(std::string_view text) {
  if (text.empty() || text == ".") return Name();
  std::string wire;
  std::string label;
  auto end_label = [&]() -> Result<void> {
    if (label.empty()) return Error::invalid("name has an empty label");
    if (label.size() > kMaxLabel) return Error::invalid("a label is longer than 63 bytes");
    wire.push_back(static_cast<char>(label.size()));
    wire += label;
    label.clear();
    return {};
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '.') {
      if (auto ended = end_label(); !ended) return ended.error();
      ++i;
      continue;
    }
    if (c == '\\') {
      auto byte = read_escape(text, i);
      if (!byte) return byte.error();
      label.push_back(*byte);
      continue;
    }
    label.push_back(c);
    ++i;
  }
  if (!label.empty()) {
    if (auto ended = end_label(); !ended) return ended.error();
  }
  if (wire.size() + 1 > kMaxNameWire) return Error::invalid("name is longer than 255 bytes");
  return Name(std::move(wire));
}

std::string Name::to_text() const {
  std::string out;
  for (auto label : labels()) {
    if (!out.empty()) out.push_back('.');
    for (unsigned char c : label) {
      if (plain_char(c)) {
        out.push_back(static_cast<char>(c));
      } else if (c == '.' || c == '\\') {
        out.push_back('\\');
        out.push_back(static_cast<char>(c));
      } else {
        out += fmt::format("\\{:03d}", c);
      }
    }
  }
  return out;
}

std::size_t Name::label_count() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < wire_.size(); i += 1 + static_cast<unsigned char>(wire_[i])) ++n;
  return n;
}

std::vector<std::string_view> Name::labels() const {
  std::vector<std::string_view> out;
  const std::string_view w = wire_;
  for (std::size_t i = 0; i < w.size();) {
    const std::size_t len = static_cast<unsigned char>(w[i]);
    out.push_back(w.substr(i + 1, len));
    i += 1 + len;
  }
  return out;
}

Name Name::lowered() const {
  std::string w = wire_;
  for (char& c : w) c = ascii_lower(c);  // length bytes are <= 63, never in 'A'..'Z'
  return Name(std::move(w));
}

Name Name::prepend(std::string_view label) const {
  std::string w;
  w.push_back(static_cast<char>(label.size()));
  w += label;
  w += wire_;
  return Name(std::move(w));
}

bool Name::is_subdomain_of(const Name& suffix) const {
  if (suffix.wire_.size() > wire_.size()) return false;
  // Walk label boundaries so "xprisn.local" is not below "prisn.local".
  const std::size_t offset = wire_.size() - suffix.wire_.size();
  std::size_t i = 0;
  while (i < offset) i += 1 + static_cast<unsigned char>(wire_[i]);
  return i == offset && equal_ignoring_case(std::string_view(wire_).substr(offset), suffix.wire_);
}

bool Name::operator==(const Name& other) const { return equal_ignoring_case(wire_, other.wire_); }

}  // namespace prisn::dns
