// SPDX-License-Identifier: MIT
#include "daemon/bind_error.hpp"

#include <fmt/format.h>

namespace prisn::daemon {

std::string bind_error(const config::ListenAddress& addr, std::string reason, const std::string& flag) {
  if (!reason.empty() && reason[0] >= 'A' && reason[0] <= 'Z') reason[0] = static_cast<char>(reason[0] - 'A' + 'a');
  // The API cannot be off: nothing could reach prisnd.
  return fmt::format("cannot bind {}: {} (use --{} HOST:PORT{})", addr.to_string(), reason, flag,
                     flag == "api" ? "" : " or --" + flag + " off");
}

}  // namespace prisn::daemon
