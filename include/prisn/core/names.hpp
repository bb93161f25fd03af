// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>

#include "prisn/core/error.hpp"

namespace prisn {

/// True for a lowercase RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
/// Resource names become DNS labels, so this is the only accepted form (SPEC §3).
bool is_valid_name(std::string_view name);

/// An Error::invalid naming `field` when `value` is not a valid name.
Result<void> validate_name(std::string_view field, std::string_view value);

/// True for a port name as Kubernetes takes it (an IANA service name, RFC 6335 5.1): at most
/// 15 characters of [a-z0-9-], at least one letter, no '-' first, last or twice in a row. It
/// becomes a Service's port name and the `_NAME._tcp` label of an SRV record.
bool is_valid_port_name(std::string_view name);

/// An Error::invalid naming `field` when `value` is not a valid port name.
Result<void> validate_port_name(std::string_view field, std::string_view value);

/// The CLI's default deployment name for a file: its stem, lowercased, with '_' and '.'
/// turned into '-'. The caller checks the result with is_valid_name().
std::string default_name_for_file(std::string_view path);

}  // namespace prisn
