// SPDX-License-Identifier: MIT
// Hand-written: no Debian library offers a small, strict, allocation-light DNS codec that
// fits an Asio server (ldns and libresolv's ns_* are C APIs with their own memory rules).
#include "prisn/dns/codec.hpp"

#include <string>

#include "dns/wire_reader.hpp"

namespace prisn::dns {
namespace {

using detail::WireReader;

class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "prisn.dns"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::kTruncated: return "message ends inside a field";
      case Errc::kBadLabel: return "unsupported label type";
      case Errc::kPointerLoop: return "compression pointer does not point backwards";
      case Errc::kNameTooLong: return "name longer than 255 bytes";
      case Errc::kTooManyRecords: return "too many records";
      case Errc::kBadOpt: return "misplaced or repeated OPT record";
      case Errc::kBadRdata: return "record data does not match its type";
      case Errc::kTrailingData: return "bytes after the last record";
    }
    return "unknown DNS codec error";
  }
};

constexpr std::uint16_t kFlagQr = 0x8000, kFlagAa = 0x0400, kFlagTc = 0x0200, kFlagRd = 0x0100,
                        kFlagRa = 0x0080, kFlagAd = 0x0020, kFlagCd = 0x0010;

#define PRISN_TRY(var, expr)            \
  auto var = (expr);                    \
  if (!var) return var.error()

WireResult<Name> read_name(WireReader& r) {
  std::string wire;
  if (auto ok = r.name(wire); !ok) return ok.error();
  return Name::from_wire(std::move(wire));
}

// Reads `rdlen` bytes of record data as `type`; typed data must use exactly rdlen bytes.
WireResult<Rdata> read_rdata(WireReader& r, std::uint16_t type, std::uint16_t rdlen) {
  if (r.remaining() < rdlen) return Errc::kTruncated;
  const std::size_t end = r.position() + rdlen;
  auto finish = [&](Rdata data) -> WireResult<Rdata> {
    if (r.position() != end) return Errc::kBadRdata;
    return data;
  };
  switch (type) {
    case type::kA: {
      if (rdlen != 4) return Errc::kBadRdata;
      AData a;
      PRISN_TRY(b, r.bytes(4));
      std::copy(b->begin(), b->end(), a.address.begin());
      return Rdata(a);
    }
    case type::kAaaa: {
      if (rdlen != 16) return Errc::kBadRdata;
      AaaaData a;
      PRISN_TRY(b, r.bytes(16));
      std::copy(b->begin(), b->end(), a.address.begin());
      return Rdata(a);
    }
    case type::kNs:
    case type::kCname:
    case type::kPtr: {
      PRISN_TRY(n, read_name(r));
      return finish(NameData{std::move(*n)});
    }
    case type::kSoa: {
      SoaData s;
      PRISN_TRY(m, read_name(r));
      PRISN_TRY(rn, read_name(r));
      s.mname = std::move(*m);
      s.rname = std::move(*rn);
      for (auto* field : {&s.serial, &s.refresh, &s.retry, &s.expire, &s.minimum}) {
        PRISN_TRY(v, r.u32());
        *field = *v;
      }
      return finish(std::move(s));
    }
    case type::kSrv: {
      SrvData s;
      for (auto* field : {&s.priority, &s.weight, &s.port}) {
        PRISN_TRY(v, r.u16());
        *field = *v;
      }
      PRISN_TRY(t, read_name(r));
      s.target = std::move(*t);
      return finish(std::move(s));
    }
    case type::kMx: {
      MxData m;
      PRISN_TRY(p, r.u16());
      m.preference = *p;
      PRISN_TRY(x, read_name(r));
      m.exchange = std::move(*x);
      return finish(std::move(m));
    }
    default: {
      PRISN_TRY(b, r.bytes(rdlen));
      return Rdata(RawData{{b->begin(), b->end()}});
    }
  }
}

enum class Section { kAnswer, kAuthority, kAdditional };

WireResult<void> read_record(WireReader& r, Section section, Message& m) {
  PRISN_TRY(name, read_name(r));
  PRISN_TRY(type, r.u16());
  PRISN_TRY(klass, r.u16());
  PRISN_TRY(ttl, r.u32());
  PRISN_TRY(rdlen, r.u16());
  if (*type == type::kOpt) {
    if (section != Section::kAdditional || m.edns || !name->is_root()) return Errc::kBadOpt;
    PRISN_TRY(options, r.bytes(*rdlen));
    Edns e;
    e.udp_size = *klass;
    e.version = static_cast<std::uint8_t>(*ttl >> 16);
    e.dnssec_ok = (*ttl & 0x8000) != 0;
    e.options.assign(options->begin(), options->end());
    m.rcode = static_cast<std::uint16_t>(m.rcode | (*ttl >> 24) << 4);
    m.edns = std::move(e);
    return {};
  }
  PRISN_TRY(data, read_rdata(r, *type, *rdlen));
  auto& out = section == Section::kAnswer ? m.answers : section == Section::kAuthority ? m.authority : m.additional;
  out.push_back(Record{std::move(*name), *type, *klass, *ttl, std::move(*data)});
  return {};
}

// ---- writing ---------------------------------------------------------------------------

class WireWriter {
 public:
  WireWriter(std::vector<std::uint8_t>& out, bool compress) : out_(out), base_(out.size()), compress_(compress) {}

  std::size_t size() const { return out_.size() - base_; }
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) {
    out_.push_back(static_cast<std::uint8_t>(v >> 8));
    out_.push_back(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void bytes(const std::uint8_t* p, std::size_t n) { out_.insert(out_.end(), p, p + n); }
  void put_u16_at(std::size_t offset, std::uint16_t v) {
    out_[base_ + offset] = static_cast<std::uint8_t>(v >> 8);
    out_[base_ + offset + 1] = static_cast<std::uint8_t>(v);
  }

  /// Writes `name`, replacing its longest suffix already in the message by a pointer when
  /// compression is on and `may_point` allows it; every suffix written becomes a target.
  void name(const Name& name, bool may_point = true) {
    const std::string lower = name.lowered().wire();
    const std::string& wire = name.wire();
    std::size_t i = 0;
    for (; i < wire.size(); i += 1 + static_cast<unsigned char>(wire[i])) {
      const std::string_view suffix = std::string_view(lower).substr(i);
      if (compress_ && may_point) {
        if (auto offset = find(suffix)) {
          bytes(reinterpret_cast<const std::uint8_t*>(wire.data()), i);
          u16(static_cast<std::uint16_t>(0xC000 | *offset));
          remember(lower, i);
          return;
        }
      }
    }
    bytes(reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size());
    u8(0);
    remember(lower, wire.size());
  }

 private:
  std::optional<std::uint16_t> find(std::string_view suffix) const {
    for (const auto& [known, offset] : targets_) {
      if (known == suffix) return offset;
    }
    return std::nullopt;
  }
  // The labels of `lower` before `written_up_to` were just written at the end of the buffer.
  void remember(const std::string& lower, std::size_t written_up_to) {
    if (!compress_) return;
    const std::size_t start = size() - (written_up_to == lower.size() ? lower.size() + 1 : written_up_to + 2);
    for (std::size_t i = 0; i < written_up_to; i += 1 + static_cast<unsigned char>(lower[i])) {
      if (start + i < 0x4000) targets_.emplace_back(lower.substr(i), static_cast<std::uint16_t>(start + i));
    }
  }

  std::vector<std::uint8_t>& out_;
  std::size_t base_;
  bool compress_;
  std::vector<std::pair<std::string, std::uint16_t>> targets_;
};

void write_rdata(WireWriter& w, const Rdata& data) {
  struct Visitor {
    WireWriter& w;
    void operator()(const RawData& d) const { w.bytes(d.bytes.data(), d.bytes.size()); }
    void operator()(const AData& d) const { w.bytes(d.address.data(), d.address.size()); }
    void operator()(const AaaaData& d) const { w.bytes(d.address.data(), d.address.size()); }
    void operator()(const NameData& d) const { w.name(d.name); }
    void operator()(const SoaData& d) const {
      w.name(d.mname);
      w.name(d.rname);
      for (auto v : {d.serial, d.refresh, d.retry, d.expire, d.minimum}) w.u32(v);
    }
    void operator()(const SrvData& d) const {
      w.u16(d.priority);
      w.u16(d.weight);
      w.u16(d.port);
      w.name(d.target, /*may_point=*/false);  // RFC 2782: no compression of the target
    }
    void operator()(const MxData& d) const {
      w.u16(d.preference);
      w.name(d.exchange);
    }
  };
  std::visit(Visitor{w}, data);
}

void write_record(WireWriter& w, const Record& rr) {
  w.name(rr.name);
  w.u16(rr.type);
  w.u16(rr.klass);
  w.u32(rr.ttl);
  const std::size_t length_at = w.size();
  w.u16(0);
  write_rdata(w, rr.data);
  w.put_u16_at(length_at, static_cast<std::uint16_t>(w.size() - length_at - 2));
}

void write_opt(WireWriter& w, const Message& m) {
  const Edns& e = *m.edns;
  w.u8(0);
  w.u16(type::kOpt);
  w.u16(e.udp_size);
  w.u32(static_cast<std::uint32_t>(m.rcode >> 4) << 24 | std::uint32_t{e.version} << 16 | (e.dnssec_ok ? 0x8000U : 0U));
  w.u16(static_cast<std::uint16_t>(e.options.size()));
  w.bytes(e.options.data(), e.options.size());
}

struct Parts {
  bool records = true;
  bool additional = true;
  bool tc = false;
};

void write_message(const Message& m, std::vector<std::uint8_t>& out, bool compress, Parts parts) {
  WireWriter w(out, compress);
  w.u16(m.id);
  std::uint16_t flags = static_cast<std::uint16_t>((m.opcode & 0xF) << 11 | (m.rcode & 0xF));
  if (m.qr) flags |= kFlagQr;
  if (m.aa) flags |= kFlagAa;
  if (m.tc || parts.tc) flags |= kFlagTc;
  if (m.rd) flags |= kFlagRd;
  if (m.ra) flags |= kFlagRa;
  if (m.ad) flags |= kFlagAd;
  if (m.cd) flags |= kFlagCd;
  w.u16(flags);
  const auto count = [](std::size_t n) { return static_cast<std::uint16_t>(n); };
  w.u16(count(m.questions.size()));
  w.u16(count(parts.records ? m.answers.size() : 0));
  w.u16(count(parts.records ? m.authority.size() : 0));
  w.u16(count((parts.records && parts.additional ? m.additional.size() : 0) + (m.edns ? 1 : 0)));
  for (const auto& q : m.questions) {
    w.name(q.name);
    w.u16(q.type);
    w.u16(q.klass);
  }
  if (parts.records) {
    for (const auto& rr : m.answers) write_record(w, rr);
    for (const auto& rr : m.authority) write_record(w, rr);
    if (parts.additional) {
      for (const auto& rr : m.additional) write_record(w, rr);
    }
  }
  if (m.edns) write_opt(w, m);
}

}  // namespace

const boost::system::error_category& dns_category() noexcept {
  static const Category category;
  return category;
}

WireResult<Message> parse(std::span<const std::uint8_t> wire, const ParseLimits& limits) {
  WireReader r(wire);
  Message m;
  PRISN_TRY(id, r.u16());
  PRISN_TRY(flags, r.u16());
  std::uint16_t counts[4];
  for (auto& c : counts) {
    PRISN_TRY(v, r.u16());
    c = *v;
  }
  if (std::size_t{counts[0]} + counts[1] + counts[2] + counts[3] > limits.max_records) return Errc::kTooManyRecords;
  m.id = *id;
  m.qr = (*flags & kFlagQr) != 0;
  m.opcode = static_cast<std::uint8_t>((*flags >> 11) & 0xF);
  m.aa = (*flags & kFlagAa) != 0;
  m.tc = (*flags & kFlagTc) != 0;
  m.rd = (*flags & kFlagRd) != 0;
  m.ra = (*flags & kFlagRa) != 0;
  m.ad = (*flags & kFlagAd) != 0;
  m.cd = (*flags & kFlagCd) != 0;
  m.rcode = *flags & 0xF;
  m.questions.reserve(counts[0]);
  for (std::uint16_t i = 0; i < counts[0]; ++i) {
    PRISN_TRY(name, read_name(r));
    PRISN_TRY(type, r.u16());
    PRISN_TRY(klass, r.u16());
    m.questions.push_back({std::move(*name), *type, *klass});
  }
  const Section sections[] = {Section::kAnswer, Section::kAuthority, Section::kAdditional};
  for (int s = 0; s < 3; ++s) {
    for (std::uint16_t i = 0; i < counts[s + 1]; ++i) {
      if (auto ok = read_record(r, sections[s], m); !ok) return ok.error();
    }
  }
  if (r.remaining() != 0) return Errc::kTrailingData;
  return m;
}

bool serialize(const Message& msg, std::vector<std::uint8_t>& out, const SerializeOptions& options) {
  const std::size_t base = out.size();
  write_message(msg, out, options.compress, {});
  if (out.size() - base <= options.max_size) return true;
  out.resize(base);
  write_message(msg, out, options.compress, {.additional = false});
  if (out.size() - base <= options.max_size) return true;
  out.resize(base);
  write_message(msg, out, options.compress, {.records = false, .tc = true});
  return false;
}

}  // namespace prisn::dns
