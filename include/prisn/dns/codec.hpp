// SPDX-License-Identifier: MIT
// The DNS wire codec: our own, small and strict. Every read is bounds-checked, compression
// pointers must point strictly backwards (so they cannot loop), and names, labels and
// record counts are limited. Parsing never throws and never reads out of bounds.
//
//   auto msg = dns::parse(bytes);            // Result<Message>: an error_code on bad input
//   std::vector<std::uint8_t> wire;
//   dns::serialize(*msg, wire, {.max_size = 512});  // false (and TC set) when it did not fit
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <cstdint>
#include <span>
#include <vector>

#include "prisn/dns/message.hpp"

namespace prisn::dns {

enum class Errc {
  kTruncated = 1,   ///< the message ends inside a field
  kBadLabel,        ///< a label type other than plain or pointer
  kPointerLoop,     ///< a compression pointer that does not point strictly backwards
  kNameTooLong,     ///< a name over 255 bytes
  kTooManyRecords,  ///< section counts over ParseLimits
  kBadOpt,          ///< OPT not in additional, not at the root, or more than one
  kBadRdata,        ///< record data that does not match its type or its length
  kTrailingData,    ///< bytes after the last record
};
const boost::system::error_category& dns_category() noexcept;
inline boost::system::error_code make_error_code(Errc e) noexcept { return {static_cast<int>(e), dns_category()}; }

template <class T>
using WireResult = boost::system::result<T, boost::system::error_code>;

struct ParseLimits {
  std::size_t max_records = 1024;  ///< questions + records of all sections
};

/// Parses a whole message. The OPT record, if any, goes to `edns` and its upper rcode bits
/// into `rcode`.
WireResult<Message> parse(std::span<const std::uint8_t> wire, const ParseLimits& limits = {});

struct SerializeOptions {
  bool compress = true;          ///< names compressed (never SRV targets, RFC 2782)
  std::size_t max_size = 65535;  ///< 512, the client's EDNS size, or 65535 over TCP
};

/// Appends `msg` to `out`. When it would be larger than `max_size`, drops the additional
/// records first (they are optional), and if it still does not fit, writes header, questions
/// and OPT only, with TC set, and returns false.
bool serialize(const Message& msg, std::vector<std::uint8_t>& out, const SerializeOptions& options = {});

}  // namespace prisn::dns

template <>
struct boost::system::is_error_code_enum<prisn::dns::Errc> : std::true_type {};
