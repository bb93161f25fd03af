// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string_view>

#include "prisn/core/error.hpp"

namespace prisn::model {

/// Kubernetes-style memory quantity: "256Mi", "1Gi", "500M", "1048576" → bytes (> 0).
Result<std::uint64_t> parse_memory_quantity(std::string_view text);

/// Kubernetes-style CPU quantity: "500m", "0.5", "2" → millicores (> 0).
Result<std::uint32_t> parse_cpu_quantity(std::string_view text);

}  // namespace prisn::model
