// SPDX-License-Identifier: MIT
// Bounds-checked reads from a DNS message (private to prisn_dns).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "prisn/dns/codec.hpp"

namespace prisn::dns::detail {

class WireReader {
 public:
  explicit WireReader(std::span<const std::uint8_t> wire) : wire_(wire) {}

  std::size_t position() const { return pos_; }
  std::size_t remaining() const { return wire_.size() - pos_; }
  std::span<const std::uint8_t> whole() const { return wire_; }

  WireResult<std::uint8_t> u8() {
    if (remaining() < 1) return Errc::kTruncated;
    return wire_[pos_++];
  }
  WireResult<std::uint16_t> u16() {
    if (remaining() < 2) return Errc::kTruncated;
    const auto v = static_cast<std::uint16_t>(wire_[pos_] << 8 | wire_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  WireResult<std::uint32_t> u32() {
    if (remaining() < 4) return Errc::kTruncated;
    const std::uint32_t v = std::uint32_t{wire_[pos_]} << 24 | std::uint32_t{wire_[pos_ + 1]} << 16 |
                            std::uint32_t{wire_[pos_ + 2]} << 8 | std::uint32_t{wire_[pos_ + 3]};
    pos_ += 4;
    return v;
  }
  WireResult<std::span<const std::uint8_t>> bytes(std::size_t n) {
    if (remaining() < n) return Errc::kTruncated;
    auto out = wire_.subspan(pos_, n);
    pos_ += n;
    return out;
  }

  /// Reads a possibly compressed name at the current position into `out` (wire form without
  /// the terminating zero). Each pointer must point strictly before where the name (or the
  /// previous pointer's target) began, so the bound falls with every jump and following them
  /// always terminates; the expanded name is limited to 255 bytes.
  WireResult<void> name(std::string& out) {
    out.clear();
    std::size_t at = pos_;
    std::size_t bound = pos_;
    bool jumped = false;
    for (;;) {
      if (at >= wire_.size()) return Errc::kTruncated;
      const std::uint8_t len = wire_[at];
      if (len == 0) {
        if (!jumped) pos_ = at + 1;
        return {};
      }
      if ((len & 0xC0) == 0xC0) {
        if (at + 1 >= wire_.size()) return Errc::kTruncated;
        const std::size_t target = static_cast<std::size_t>(len & 0x3F) << 8 | wire_[at + 1];
        if (target >= bound) return Errc::kPointerLoop;
        if (!jumped) pos_ = at + 2;
        jumped = true;
        at = bound = target;
        continue;
      }
      if ((len & 0xC0) != 0) return Errc::kBadLabel;  // 0x40 and 0x80 label types are obsolete
      if (at + 1 + len > wire_.size()) return Errc::kTruncated;
      if (out.size() + 1 + len + 1 > kMaxNameWire) return Errc::kNameTooLong;
      out.append(reinterpret_cast<const char*>(wire_.data() + at), 1 + len);
      at += 1 + len;
    }
  }

 private:
  std::span<const std::uint8_t> wire_;
  std::size_t pos_ = 0;
};

}  // namespace prisn::dns::detail
