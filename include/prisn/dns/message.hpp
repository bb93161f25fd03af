// SPDX-License-Identifier: MIT
// A DNS message as plain values (RFC 1035 §4, EDNS0 from RFC 6891). The codec turns wire
// bytes into these and back; nothing here does I/O.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "prisn/dns/name.hpp"

namespace prisn::dns {

/// Record types prisn reads or writes by name; any other type is carried as raw bytes.
namespace type {
inline constexpr std::uint16_t kA = 1;
inline constexpr std::uint16_t kNs = 2;
inline constexpr std::uint16_t kCname = 5;
inline constexpr std::uint16_t kSoa = 6;
inline constexpr std::uint16_t kPtr = 12;
inline constexpr std::uint16_t kMx = 15;
inline constexpr std::uint16_t kTxt = 16;
inline constexpr std::uint16_t kAaaa = 28;
inline constexpr std::uint16_t kSrv = 33;
inline constexpr std::uint16_t kOpt = 41;
inline constexpr std::uint16_t kIxfr = 251;
inline constexpr std::uint16_t kAxfr = 252;
inline constexpr std::uint16_t kAny = 255;
}  // namespace type

inline constexpr std::uint16_t kClassIn = 1;
inline constexpr std::uint16_t kClassAny = 255;

/// Response codes; values above 15 need EDNS (the upper 8 bits live in the OPT record).
namespace rcode {
inline constexpr std::uint16_t kNoError = 0;
inline constexpr std::uint16_t kFormErr = 1;
inline constexpr std::uint16_t kServFail = 2;
inline constexpr std::uint16_t kNxDomain = 3;
inline constexpr std::uint16_t kNotImp = 4;
inline constexpr std::uint16_t kRefused = 5;
inline constexpr std::uint16_t kBadVers = 16;
}  // namespace rcode

inline constexpr std::uint8_t kOpcodeQuery = 0;

/// "A", "SRV", ... or "TYPE65" for others (RFC 3597).
std::string type_name(std::uint16_t type);
/// The inverse of type_name(), for the API and CLI; nullopt when unknown.
std::optional<std::uint16_t> type_from_name(std::string_view name);
/// type_from_name() of a type a lookup may ask for (the API's and `prisn dns lookup`'s): any
/// known one but OPT, AXFR and IXFR, which are not records one looks up.
std::optional<std::uint16_t> lookup_type(std::string_view name);
/// Those types as a message lists them.
inline constexpr const char* kLookupTypeNames = "A, AAAA, SRV, SOA, NS, CNAME, PTR, MX, TXT or ANY";
/// "NOERROR", "NXDOMAIN", ... or "RCODE23".
std::string rcode_name(std::uint16_t rcode);

struct Question {
  Name name;
  std::uint16_t type = type::kA;
  std::uint16_t klass = kClassIn;
  bool operator==(const Question&) const = default;
};

// Record data, typed where prisn needs the fields; everything else stays raw.
struct RawData {
  std::vector<std::uint8_t> bytes;
  bool operator==(const RawData&) const = default;
};
struct AData {
  std::array<std::uint8_t, 4> address{};
  bool operator==(const AData&) const = default;
};
struct AaaaData {
  std::array<std::uint8_t, 16> address{};
  bool operator==(const AaaaData&) const = default;
};
/// NS, CNAME and PTR: one name.
struct NameData {
  Name name;
  bool operator==(const NameData&) const = default;
};
struct SoaData {
  Name mname;
  Name rname;
  std::uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;
  bool operator==(const SoaData&) const = default;
};
struct SrvData {
  std::uint16_t priority = 0, weight = 0, port = 0;
  Name target;
  bool operator==(const SrvData&) const = default;
};
struct MxData {
  std::uint16_t preference = 0;
  Name exchange;
  bool operator==(const MxData&) const = default;
};
using Rdata = std::variant<RawData, AData, AaaaData, NameData, SoaData, SrvData, MxData>;

struct Record {
  Name name;
  std::uint16_t type = type::kA;
  std::uint16_t klass = kClassIn;
  std::uint32_t ttl = 0;
  Rdata data;
  bool operator==(const Record&) const = default;
};

/// The OPT pseudo-record, kept apart from the additional section.
struct Edns {
  std::uint16_t udp_size = 512;  ///< the sender's largest UDP payload (values below 512 mean 512)
  std::uint8_t version = 0;
  bool dnssec_ok = false;
  std::vector<std::uint8_t> options;  ///< raw option bytes, not interpreted
  bool operator==(const Edns&) const = default;
};

struct Message {
  std::uint16_t id = 0;
  bool qr = false;  ///< response
  std::uint8_t opcode = kOpcodeQuery;
  bool aa = false, tc = false, rd = false, ra = false, ad = false, cd = false;
  std::uint16_t rcode = rcode::kNoError;  ///< 12 bits: the upper 8 travel in the OPT record
  std::vector<Question> questions;
  std::vector<Record> answers;
  std::vector<Record> authority;
  std::vector<Record> additional;  ///< without the OPT record
  std::optional<Edns> edns;
  bool operator==(const Message&) const = default;
};

/// "10.0.0.5", "::1", a name, "0 10 8080 api-0.api.default.prisn.local", ... for the API.
std::string rdata_text(const Record& record);

}  // namespace prisn::dns
