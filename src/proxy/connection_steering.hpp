// SPDX-License-Identifier: MIT
// Which of the router's workers takes a new client connection (private to prisn_proxy).
#pragma once

#include <span>

#include "prisn/core/error.hpp"

namespace prisn::proxy::detail {

/// Decides, from how busy each worker's thread was over the last period, whether new
/// connections gather on the first worker or spread over all of them.
///
/// Under light load one thread serves every connection: each wake-up then finds several of
/// them ready, so a request costs less CPU and waits less for a thread to be scheduled than
/// when two half-idle threads take turns being woken (on two cores, the router's first
/// worker alone served 5-10% more requests than two workers, at a lower p99). Once the first
/// worker is busy, the kernel's hash spreads new connections again, so a load of new
/// connections (TLS handshakes) gets every core. nginx, whose workers share one accept queue,
/// also hands light load to one worker (its most recently idle one). Placement is decided when
/// a connection arrives and is kept for its life, as with any SO_REUSEPORT listener.
///
/// The two thresholds leave a band where neither mode switches to the other: a busy first
/// worker spreads, and the workers gather again only once all of them together are below
/// what one worker serves without being busy.
class SteeringPolicy {
 public:
  static constexpr double kSpreadAt = 0.75;     ///< the first worker's busy share of its thread's time
  static constexpr double kGatherBelow = 0.55;  ///< the sum of every worker's busy share

  /// `loads`: each worker's busy share (0..1) over the last period, the first worker first.
  /// Returns whether new connections are to spread over every worker.
  bool spread(std::span<const double> loads);
  bool spreading() const { return spreading_; }

 private:
  bool spreading_ = false;
};

/// Attaches to the SO_REUSEPORT group that listening socket `fd` belongs to a program that
/// hands every new connection to the group's first socket (the first worker's), or, with
/// `spread`, lets the kernel choose by the connection's hash as it does without a program.
/// The first socket is the one that began listening first.
Result<void> steer_reuseport_group(int fd, bool spread);

}  // namespace prisn::proxy::detail
