// SPDX-License-Identifier: MIT
#include "prisn/dns/message.hpp"

#include <fmt/format.h>

#include <utility>

namespace prisn::dns {
namespace {

constexpr std::pair<std::uint16_t, const char*> kTypeNames[] = {
    {type::kA, "A"},     {type::kNs, "NS"},     {type::kCname, "CNAME"}, {type::kSoa, "SOA"},
    {type::kPtr, "PTR"}, {type::kMx, "MX"},     {type::kTxt, "TXT"},     {type::kAaaa, "AAAA"},
    {type::kSrv, "SRV"}, {type::kOpt, "OPT"},   {type::kIxfr, "IXFR"},   {type::kAxfr, "AXFR"},
    {type::kAny, "ANY"},
};

constexpr std::pair<std::uint16_t, const char*> kRcodeNames[] = {
    {rcode::kNoError, "NOERROR"}, {rcode::kFormErr, "FORMERR"}, {rcode::kServFail, "SERVFAIL"},
    {rcode::kNxDomain, "NXDOMAIN"}, {rcode::kNotImp, "NOTIMP"},  {rcode::kRefused, "REFUSED"},
    {rcode::kBadVers, "BADVERS"},
};

std::string ipv6_text(const std::array<std::uint8_t, 16>& a) {
  // Plain eight groups; the API shows addresses, it does not need the shortest form.
  std::string out;
  for (std::size_t i = 0; i < 16; i += 2) {
    if (i) out.push_back(':');
    out += fmt::format("{:x}", a[i] << 8 | a[i + 1]);
  }
  return out;
}

}  // namespace

std::string type_name(std::uint16_t t) {
  for (const auto& [value, name] : kTypeNames) {
    if (value == t) return name;
  }
  return fmt::format("TYPE{}", t);
}

std::optional<std::uint16_t> type_from_name(std::string_view name) {
  std::string upper(name);
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  for (const auto& [value, text] : kTypeNames) {
    if (upper == text) return value;
  }
  return std::nullopt;
}

std::optional<std::uint16_t> lookup_type(std::string_view name) {
  const auto t = type_from_name(name);
  if (!t || *t == type::kOpt || *t == type::kAxfr || *t == type::kIxfr) return std::nullopt;
  return t;
}

std::string rcode_name(std::uint16_t r) {
  for (const auto& [value, name] : kRcodeNames) {
    if (value == r) return name;
  }
  return fmt::format("RCODE{}", r);
}

std::string rdata_text(const Record& record) {
  struct Visitor {
    std::string operator()(const RawData& d) const {
      std::string out = fmt::format("\\# {}", d.bytes.size());
      if (!d.bytes.empty()) out.push_back(' ');
      for (auto b : d.bytes) out += fmt::format("{:02x}", b);
      return out;
    }
    std::string operator()(const AData& d) const {
      return fmt::format("{}.{}.{}.{}", d.address[0], d.address[1], d.address[2], d.address[3]);
    }
    std::string operator()(const AaaaData& d) const { return ipv6_text(d.address); }
    std::string operator()(const NameData& d) const { return d.name.to_text(); }
    std::string operator()(const SoaData& d) const {
      return fmt::format("{} {} {} {} {} {} {}", d.mname.to_text(), d.rname.to_text(), d.serial, d.refresh,
                         d.retry, d.expire, d.minimum);
    }
    std::string operator()(const SrvData& d) const {
      return fmt::format("{} {} {} {}", d.priority, d.weight, d.port, d.target.to_text());
    }
    std::string operator()(const MxData& d) const { return fmt::format("{} {}", d.preference, d.exchange.to_text()); }
  };
  return std::visit(Visitor{}, record.data);
}

}  // namespace prisn::dns
