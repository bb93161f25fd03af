// SPDX-License-Identifier: MIT
// Cron expressions come from API clients: parsing must never crash, hang or read out of
// bounds, and a parsed schedule's next fire time must be strictly in the future.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "prisn/cron/cron_expr.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto expr = prisn::cron::CronExpr::parse(text);
  if (!expr) {
    return 0;
  }
  const auto start = prisn::from_epoch_ms(1'795'000'000'000);
  const auto next = expr->next_after(start);
  if (next && *next <= start) {
    std::abort();
  }
  return 0;
}
