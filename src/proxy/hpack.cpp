// SPDX-License-Identifier: MIT
#include "proxy/hpack.hpp"

#include <array>
#include <limits>
#include <unordered_map>

namespace prisn::proxy::detail::hpack {

namespace {

struct StaticEntry {
  std::string_view name;
  std::string_view value;
};

// RFC 7541 Appendix A; index 1 is the first entry.
constexpr std::array<StaticEntry, 61> kStatic{{
    {":authority", ""}, {":method", "GET"}, {":method", "POST"}, {":path", "/"}, {":path", "/index.html"},
    {":scheme", "http"}, {":scheme", "https"}, {":status", "200"}, {":status", "204"}, {":status", "206"},
    {":status", "304"}, {":status", "400"}, {":status", "404"}, {":status", "500"}, {"accept-charset", ""},
    {"accept-encoding", "gzip, deflate"}, {"accept-language", ""}, {"accept-ranges", ""}, {"accept", ""},
    {"access-control-allow-origin", ""}, {"age", ""}, {"allow", ""}, {"authorization", ""},
    {"cache-control", ""}, {"content-disposition", ""}, {"content-encoding", ""}, {"content-language", ""},
    {"content-length", ""}, {"content-location", ""}, {"content-range", ""}, {"content-type", ""},
    {"cookie", ""}, {"date", ""}, {"etag", ""}, {"expect", ""}, {"expires", ""}, {"from", ""}, {"host", ""},
    {"if-match", ""}, {"if-modified-since", ""}, {"if-none-match", ""}, {"if-range", ""},
    {"if-unmodified-since", ""}, {"last-modified", ""}, {"link", ""}, {"location", ""}, {"max-forwards", ""},
    {"proxy-authenticate", ""}, {"proxy-authorization", ""}, {"range", ""}, {"referer", ""}, {"refresh", ""},
    {"retry-after", ""}, {"server", ""}, {"set-cookie", ""}, {"strict-transport-security", ""},
    {"transfer-encoding", ""}, {"user-agent", ""}, {"vary", ""}, {"via", ""}, {"www-authenticate", ""},
}};

struct Code {
  std::uint32_t bits;  // right-aligned
  std::uint8_t length;
};

// RFC 7541 Appendix B: the code of each byte value, then of EOS (256).
constexpr std::array<Code, 257> kHuffman{{
    {0x1ff8, 13}, {0x7fffd8, 23}, {0xfffffe2, 28}, {0xfffffe3, 28}, {0xfffffe4, 28}, {0xfffffe5, 28},
    {0xfffffe6, 28}, {0xfffffe7, 28}, {0xfffffe8, 28}, {0xffffea, 24}, {0x3ffffffc, 30}, {0xfffffe9, 28},
    {0xfffffea, 28}, {0x3ffffffd, 30}, {0xfffffeb, 28}, {0xfffffec, 28}, {0xfffffed, 28}, {0xfffffee, 28},
    {0xfffffef, 28}, {0xffffff0, 28}, {0xffffff1, 28}, {0xffffff2, 28}, {0x3ffffffe, 30}, {0xffffff3, 28},
    {0xffffff4, 28}, {0xffffff5, 28}, {0xffffff6, 28}, {0xffffff7, 28}, {0xffffff8, 28}, {0xffffff9, 28},
    {0xffffffa, 28}, {0xffffffb, 28}, {0x14, 6}, {0x3f8, 10}, {0x3f9, 10}, {0xffa, 12}, {0x1ff9, 13}, {0x15, 6},
    {0xf8, 8}, {0x7fa, 11}, {0x3fa, 10}, {0x3fb, 10}, {0xf9, 8}, {0x7fb, 11}, {0xfa, 8}, {0x16, 6}, {0x17, 6},
    {0x18, 6}, {0x0, 5}, {0x1, 5}, {0x2, 5}, {0x19, 6}, {0x1a, 6}, {0x1b, 6}, {0x1c, 6}, {0x1d, 6}, {0x1e, 6},
    {0x1f, 6}, {0x5c, 7}, {0xfb, 8}, {0x7ffc, 15}, {0x20, 6}, {0xffb, 12}, {0x3fc, 10}, {0x1ffa, 13}, {0x21, 6},
    {0x5d, 7}, {0x5e, 7}, {0x5f, 7}, {0x60, 7}, {0x61, 7}, {0x62, 7}, {0x63, 7}, {0x64, 7}, {0x65, 7}, {0x66, 7},
    {0x67, 7}, {0x68, 7}, {0x69, 7}, {0x6a, 7}, {0x6b, 7}, {0x6c, 7}, {0x6d, 7}, {0x6e, 7}, {0x6f, 7}, {0x70, 7},
    {0x71, 7}, {0x72, 7}, {0xfc, 8}, {0x73, 7}, {0xfd, 8}, {0x1ffb, 13}, {0x7fff0, 19}, {0x1ffc, 13},
    {0x3ffc, 14}, {0x22, 6}, {0x7ffd, 15}, {0x3, 5}, {0x23, 6}, {0x4, 5}, {0x24, 6}, {0x5, 5}, {0x25, 6},
    {0x26, 6}, {0x27, 6}, {0x6, 5}, {0x74, 7}, {0x75, 7}, {0x28, 6}, {0x29, 6}, {0x2a, 6}, {0x7, 5}, {0x2b, 6},
    {0x76, 7}, {0x2c, 6}, {0x8, 5}, {0x9, 5}, {0x2d, 6}, {0x77, 7}, {0x78, 7}, {0x79, 7}, {0x7a, 7}, {0x7b, 7},
    {0x7ffe, 15}, {0x7fc, 11}, {0x3ffd, 14}, {0x1ffd, 13}, {0xffffffc, 28}, {0xfffe6, 20}, {0x3fffd2, 22},
    {0xfffe7, 20}, {0xfffe8, 20}, {0x3fffd3, 22}, {0x3fffd4, 22}, {0x3fffd5, 22}, {0x7fffd9, 23}, {0x3fffd6, 22},
    {0x7fffda, 23}, {0x7fffdb, 23}, {0x7fffdc, 23}, {0x7fffdd, 23}, {0x7fffde, 23}, {0xffffeb, 24},
    {0x7fffdf, 23}, {0xffffec, 24}, {0xffffed, 24}, {0x3fffd7, 22}, {0x7fffe0, 23}, {0xffffee, 24},
    {0x7fffe1, 23}, {0x7fffe2, 23}, {0x7fffe3, 23}, {0x7fffe4, 23}, {0x1fffdc, 21}, {0x3fffd8, 22},
    {0x7fffe5, 23}, {0x3fffd9, 22}, {0x7fffe6, 23}, {0x7fffe7, 23}, {0xffffef, 24}, {0x3fffda, 22},
    {0x1fffdd, 21}, {0xfffe9, 20}, {0x3fffdb, 22}, {0x3fffdc, 22}, {0x7fffe8, 23}, {0x7fffe9, 23},
    {0x1fffde, 21}, {0x7fffea, 23}, {0x3fffdd, 22}, {0x3fffde, 22}, {0xfffff0, 24}, {0x1fffdf, 21},
    {0x3fffdf, 22}, {0x7fffeb, 23}, {0x7fffec, 23}, {0x1fffe0, 21}, {0x1fffe1, 21}, {0x3fffe0, 22},
    {0x1fffe2, 21}, {0x7fffed, 23}, {0x3fffe1, 22}, {0x7fffee, 23}, {0x7fffef, 23}, {0xfffea, 20},
    {0x3fffe2, 22}, {0x3fffe3, 22}, {0x3fffe4, 22}, {0x7ffff0, 23}, {0x3fffe5, 22}, {0x3fffe6, 22},
    {0x7ffff1, 23}, {0x3ffffe0, 26}, {0x3ffffe1, 26}, {0xfffeb, 20}, {0x7fff1, 19}, {0x3fffe7, 22},
    {0x7ffff2, 23}, {0x3fffe8, 22}, {0x1ffffec, 25}, {0x3ffffe2, 26}, {0x3ffffe3, 26}, {0x3ffffe4, 26},
    {0x7ffffde, 27}, {0x7ffffdf, 27}, {0x3ffffe5, 26}, {0xfffff1, 24}, {0x1ffffed, 25}, {0x7fff2, 19},
    {0x1fffe3, 21}, {0x3ffffe6, 26}, {0x7ffffe0, 27}, {0x7ffffe1, 27}, {0x3ffffe7, 26}, {0x7ffffe2, 27},
    {0xfffff2, 24}, {0x1fffe4, 21}, {0x1fffe5, 21}, {0x3ffffe8, 26}, {0x3ffffe9, 26}, {0xffffffd, 28},
    {0x7ffffe3, 27}, {0x7ffffe4, 27}, {0x7ffffe5, 27}, {0xfffec, 20}, {0xfffff3, 24}, {0xfffed, 20},
    {0x1fffe6, 21}, {0x3fffe9, 22}, {0x1fffe7, 21}, {0x1fffe8, 21}, {0x7ffff3, 23}, {0x3fffea, 22},
    {0x3fffeb, 22}, {0x1ffffee, 25}, {0x1ffffef, 25}, {0xfffff4, 24}, {0xfffff5, 24}, {0x3ffffea, 26},
    {0x7ffff4, 23}, {0x3ffffeb, 26}, {0x7ffffe6, 27}, {0x3ffffec, 26}, {0x3ffffed, 26}, {0x7ffffe7, 27},
    {0x7ffffe8, 27}, {0x7ffffe9, 27}, {0x7ffffea, 27}, {0x7ffffeb, 27}, {0xffffffe, 28}, {0x7ffffec, 27},
    {0x7ffffed, 27}, {0x7ffffee, 27}, {0x7ffffef, 27}, {0x7fffff0, 27}, {0x3ffffee, 26}, {0x3fffffff, 30}
}};
constexpr int kEos = 256;

// The code as a binary tree, for decoding a bit at a time: node 0 is the root; a child
// index of 0 means "no such code", a leaf holds its symbol.
struct HuffmanTree {
  struct Node {
    std::array<std::uint16_t, 2> child{};
    std::int16_t symbol = -1;
  };
  std::vector<Node> nodes{Node{}};

  HuffmanTree() {
    for (int sym = 0; sym < static_cast<int>(kHuffman.size()); ++sym) {
      std::size_t at = 0;
      for (int bit = kHuffman[sym].length - 1; bit >= 0; --bit) {
        const int b = (kHuffman[sym].bits >> bit) & 1;
        if (nodes[at].child[b] == 0) {
          nodes[at].child[b] = static_cast<std::uint16_t>(nodes.size());
          nodes.push_back(Node{});
        }
        at = nodes[at].child[b];
      }
      nodes[at].symbol = static_cast<std::int16_t>(sym);
    }
  }
};

const HuffmanTree& tree() {
  static const HuffmanTree t;
  return t;
}

// Reads a prefixed integer at `at` (RFC 7541 §5.1); false when the block ends inside it or
// it does not fit in 32 bits (no length or index prisn accepts comes near).
bool decode_integer(std::string_view in, std::size_t& at, int prefix_bits, std::uint64_t& value) {
  if (at >= in.size()) return false;
  const std::uint64_t max_prefix = (1u << prefix_bits) - 1;
  value = static_cast<std::uint8_t>(in[at++]) & max_prefix;
  if (value < max_prefix) return true;
  for (int shift = 0; shift <= 28; shift += 7) {
    if (at >= in.size()) return false;
    const auto byte = static_cast<std::uint8_t>(in[at++]);
    value += static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value <= std::numeric_limits<std::uint32_t>::max();
  }
  return false;
}

bool decode_string(std::string_view in, std::size_t& at, std::string& out) {
  if (at >= in.size()) return false;
  const bool huffman = (static_cast<std::uint8_t>(in[at]) & 0x80) != 0;
  std::uint64_t length = 0;
  if (!decode_integer(in, at, 7, length) || length > in.size() - at) return false;
  const auto raw = in.substr(at, length);
  at += length;
  out.clear();
  if (!huffman) {
    out.assign(raw);
    return true;
  }
  return huffman_decode(raw, out);
}

void encode_string(std::string& out, std::string_view s) {
  encode_integer(out, s.size(), 7, 0x00);
  out.append(s);
}

const std::unordered_map<std::string_view, unsigned>& static_names() {
  static const auto names = [] {
    std::unordered_map<std::string_view, unsigned> m;
    for (unsigned i = kStatic.size(); i >= 1; --i) m[kStatic[i - 1].name] = i;  // the first index wins
    return m;
  }();
  return names;
}

}  // namespace

void encode_integer(std::string& out, std::uint64_t value, int prefix_bits, std::uint8_t flags) {
  const std::uint64_t max_prefix = (1u << prefix_bits) - 1;
  if (value < max_prefix) {
    out.push_back(static_cast<char>(flags | value));
    return;
  }
  out.push_back(static_cast<char>(flags | max_prefix));
  value -= max_prefix;
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

bool huffman_decode(std::string_view in, std::string& out) {
  const auto& nodes = tree().nodes;
  std::size_t at = 0;
  int depth = 0;           // bits read since the last symbol
  bool all_ones = true;    // and whether each of them was a 1
  for (const char c : in) {
    const auto byte = static_cast<std::uint8_t>(c);
    for (int bit = 7; bit >= 0; --bit) {
      const int b = (byte >> bit) & 1;
      at = nodes[at].child[b];
      if (at == 0) return false;
      ++depth;
      all_ones = all_ones && b == 1;
      if (const int sym = nodes[at].symbol; sym >= 0) {
        if (sym == kEos) return false;  // RFC 7541 §5.2: EOS in a string is an error
        out.push_back(static_cast<char>(sym));
        at = 0;
        depth = 0;
        all_ones = true;
      }
    }
  }
  return depth < 8 && all_ones;  // padding: fewer than 8 bits, the start of EOS (all ones)
}

std::string huffman_encode(std::string_view in) {
  std::string out;
  std::uint64_t acc = 0;
  int bits = 0;
  for (const char c : in) {
    const Code code = kHuffman[static_cast<std::uint8_t>(c)];
    acc = (acc << code.length) | code.bits;
    bits += code.length;
    while (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits > 0) out.push_back(static_cast<char>(((acc << (8 - bits)) | ((1u << (8 - bits)) - 1)) & 0xff));
  return out;
}

void encode(std::string& out, std::string_view name, std::string_view value) {
  const auto& names = static_names();
  if (const auto it = names.find(name); it != names.end()) {
    encode_integer(out, it->second, 4, 0x10);  // never indexed, indexed name
  } else {
    out.push_back(0x10);
    encode_string(out, name);
  }
  encode_string(out, value);
}

void encode_status(std::string& out, unsigned status) {
  for (unsigned i = 8; i <= 14; ++i) {
    if (kStatic[i - 1].value == std::to_string(status)) {
      out.push_back(static_cast<char>(0x80 | i));
      return;
    }
  }
  encode(out, ":status", std::to_string(status));
}

const Header* Decoder::lookup(std::uint64_t index) const {
  thread_local Header scratch;
  if (index == 0) return nullptr;
  if (index <= kStatic.size()) {
    scratch.name.assign(kStatic[index - 1].name);
    scratch.value.assign(kStatic[index - 1].value);
    return &scratch;
  }
  index -= kStatic.size() + 1;
  return index < dynamic_.size() ? &dynamic_[index] : nullptr;
}

void Decoder::evict_to(std::size_t capacity) {
  while (size_ > capacity && !dynamic_.empty()) {
    size_ -= entry_size(dynamic_.back());
    dynamic_.pop_back();
  }
}

void Decoder::insert(Header h) {
  const std::size_t size = entry_size(h);
  if (size > capacity_) {  // RFC 7541 §4.4: an entry larger than the table empties it
    evict_to(0);
    return;
  }
  evict_to(capacity_ - size);
  size_ += size;
  dynamic_.push_front(std::move(h));
}

bool Decoder::decode(std::string_view block, std::vector<Header>& out, std::size_t list_limit) {
  std::size_t at = 0;
  bool fields_seen = false;
  std::size_t list_size = 0;
  last_over_limit_ = false;
  auto keep = [&](const Header& h) {  // false once the list is past its limit: nothing more is kept
    list_size += entry_size(h);
    last_over_limit_ = last_over_limit_ || list_size > list_limit;
    return !last_over_limit_;
  };
  while (at < block.size()) {
    const auto first = static_cast<std::uint8_t>(block[at]);
    std::uint64_t index = 0;
    if (first & 0x80) {  // indexed field (§6.1)
      if (!decode_integer(block, at, 7, index)) return false;
      const Header* h = lookup(index);
      if (h == nullptr) return false;
      if (keep(*h)) out.push_back(*h);
      fields_seen = true;
      continue;
    }
    if ((first & 0xe0) == 0x20) {  // dynamic table size update (§6.3): only before the fields
      if (fields_seen || !decode_integer(block, at, 5, index) || index > max_table_) return false;
      capacity_ = index;
      evict_to(capacity_);
      continue;
    }
    const bool indexing = (first & 0xc0) == 0x40;  // else without / never indexed (§6.2.2, §6.2.3)
    if (!decode_integer(block, at, indexing ? 6 : 4, index)) return false;
    Header h;
    if (index != 0) {
      const Header* named = lookup(index);
      if (named == nullptr) return false;
      h.name = named->name;
    } else if (!decode_string(block, at, h.name)) {
      return false;
    }
    if (!decode_string(block, at, h.value)) return false;
    const bool kept = keep(h);
    if (indexing) insert(h);
    if (kept) out.push_back(std::move(h));
    fields_seen = true;
  }
  return true;
}

}  // namespace prisn::proxy::detail::hpack
