// SPDX-License-Identifier: MIT
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <optional>
#include <string>

namespace prisn::control {

/// True when the awaiting operation was cancelled (the client went away): a LogStream's
/// next() checks it after each wait and then returns nullopt.
inline boost::asio::awaitable<bool> was_cancelled() {
  auto state = co_await boost::asio::this_coro::cancellation_state;
  co_return state.cancelled() != boost::asio::cancellation_type::none;
}

/// A followed log (`?follow=true`): text as it is written, until the source ends.
/// Thread: control thread; the HTTP session awaits next() there.
class LogStream {
 public:
  virtual ~LogStream() = default;
  /// The next piece of output; nullopt when the source has ended and everything was sent.
  virtual boost::asio::awaitable<std::optional<std::string>> next() = 0;
  /// prisnd is stopping and its processes have ended: from now on next() returns what is left
  /// without waiting for more, then nullopt, so a follower gets the last lines and a clean end.
  virtual void finish() = 0;
  /// The name of a field sent after the body (an HTTP trailer, announced in `Trailer`), or
  /// empty for none.
  virtual std::string trailer_name() const { return {}; }
  /// That field's value, asked for once next() has returned nullopt.
  virtual std::string trailer_value() const { return {}; }
};

}  // namespace prisn::control
