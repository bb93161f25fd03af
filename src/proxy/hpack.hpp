// SPDX-License-Identifier: MIT
// HPACK, HTTP/2's header compression (RFC 7541), sans-IO (private to prisn_proxy).
//
// Written by hand: Debian's HPACK implementations come with whole HTTP/2 stacks (nghttp2),
// which prisn's fixed dependencies do not include, and the format is small: a static table,
// a bounded dynamic table, prefixed integers and Huffman-coded strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace prisn::proxy::detail::hpack {

struct Header {
  std::string name;
  std::string value;
  bool operator==(const Header&) const = default;
};

/// The size a header counts for in a table or a header list (RFC 7541 §4.1).
inline std::size_t entry_size(const Header& h) { return h.name.size() + h.value.size() + 32; }

/// Decodes the header blocks of one direction of one connection: the dynamic table carries
/// from block to block, so every block must be decoded, in order, even one that is refused.
class Decoder {
 public:
  /// `max_table` is the SETTINGS_HEADER_TABLE_SIZE this side announced.
  explicit Decoder(std::size_t max_table = 4096) : max_table_(max_table), capacity_(max_table) {}

  /// Appends the block's headers to `out`; false when the block is malformed (a
  /// COMPRESSION_ERROR, which ends the connection). Headers past `list_limit` (their sizes as
  /// SETTINGS_MAX_HEADER_LIST_SIZE counts them) are decoded for the table's sake but not kept:
  /// a small block of references to one large entry would otherwise expand without bound.
  bool decode(std::string_view block, std::vector<Header>& out,
              std::size_t list_limit = std::numeric_limits<std::size_t>::max());
  /// Whether the last block decoded went past its `list_limit` (what `out` got is then partial).
  bool last_over_limit() const { return last_over_limit_; }

  std::size_t table_size() const { return size_; }

 private:
  const Header* lookup(std::uint64_t index) const;
  void insert(Header h);
  void evict_to(std::size_t capacity);

  std::size_t max_table_;
  std::size_t capacity_;  // the encoder's current choice, at most max_table_
  std::size_t size_ = 0;
  std::deque<Header> dynamic_;  // newest first
  bool last_over_limit_ = false;
};

/// Appends one header as a literal that is never added to the peer's dynamic table, its
/// name by static-table index where it has one (RFC 7541 §6.2.2). Without a dynamic table
/// the encoder never has to follow the peer's table size.
void encode(std::string& out, std::string_view name, std::string_view value);
/// Appends `:status`, by full static-table index for the seven statuses the table has.
void encode_status(std::string& out, unsigned status);

/// Appends the decoded form of a Huffman-coded string (RFC 7541 §5.2, Appendix B); false
/// for a code that is not valid (EOS inside, or padding that is not a prefix of EOS).
bool huffman_decode(std::string_view in, std::string& out);
/// The Huffman encoding of `in` (for tests: the encoder sends strings as they are).
std::string huffman_encode(std::string_view in);

/// A prefixed integer (RFC 7541 §5.1), first byte's high bits `flags`.
void encode_integer(std::string& out, std::uint64_t value, int prefix_bits, std::uint8_t flags);

}  // namespace prisn::proxy::detail::hpack
