// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "prisn/core/ascii.hpp"
#include "prisn/core/error.hpp"

namespace prisn::dns {

/// Longest name on the wire, terminating zero included (RFC 1035 §2.3.4).
inline constexpr std::size_t kMaxNameWire = 255;
inline constexpr std::size_t kMaxLabel = 63;

/// A domain name, held in wire form without the terminating root label: each label as its
/// length byte and bytes ("\3api\7default"). The root is the empty name. Case is kept as
/// given; equality and suffix tests ignore ASCII case (RFC 4343). Always valid: at most 63
/// bytes per label and 255 bytes on the wire.
class Name {
 public:
  Name() = default;

  /// Parses presentation form: "api.default.prisn.local", with or without the trailing dot;
  /// "." or "" is the root; "\." and "\DDD" escape a byte. Errors name what is wrong.
  static Result<Name> from_text(std::string_view text);
  /// From wire labels already checked (by the codec): no validation.
  static Name from_wire(std::string wire) { return Name(std::move(wire)); }

  /// Presentation form without the trailing dot ("" for the root); bytes outside
  /// [a-zA-Z0-9-_] are escaped, so from_text(to_text()) gives the name back.
  std::string to_text() const;
  /// Wire form without the terminating zero.
  const std::string& wire() const { return wire_; }
  /// Bytes on the wire, terminating zero included.
  std::size_t wire_size() const { return wire_.size() + 1; }
  bool is_root() const { return wire_.empty(); }
  std::size_t label_count() const;
  std::vector<std::string_view> labels() const;
  /// The same name in ASCII lowercase: the key the zone is indexed by.
  Name lowered() const;
  /// This name with `label` in front ("api" + "default.prisn.local"); the label must be one
  /// that can_prepend() allows.
  Name prepend(std::string_view label) const;
  /// Whether `label` in front of this name is still a name: 1 to 63 bytes, and 255 bytes on
  /// the wire in all.
  bool can_prepend(std::string_view label) const {
    return !label.empty() && label.size() <= kMaxLabel && wire_size() + 1 + label.size() <= kMaxNameWire;
  }

  /// True when this name equals `suffix` or lies below it, label by label.
  bool is_subdomain_of(const Name& suffix) const;
  bool operator==(const Name& other) const;

 private:
  explicit Name(std::string wire) : wire_(std::move(wire)) {}
  std::string wire_;
};

}  // namespace prisn::dns
