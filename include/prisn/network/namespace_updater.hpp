// SPDX-License-Identifier: MIT
#pragma once

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "prisn/core/error.hpp"

namespace prisn::network {

/// The `ip prisn` table of one instance namespace (see InstanceLoopback).
struct NamespaceRuleset {
  std::filesystem::path netns;  ///< /run/netns/NAME
  std::string ruleset;          ///< an `nft -f` transaction
};

/// Applies a ruleset inside its namespace, now, on the calling thread (with route_localnet
/// set on its eth0, which the loopback redirects need).
Result<void> apply_in_namespace(const NamespaceRuleset& update);

/// Rewrites instance namespaces' rulesets on a thread of its own: each is one `nft` run of
/// several milliseconds, and a change of the node's published ports rewrites every namespace,
/// which on the control thread would hold the API for as long. Only the latest batch
/// matters: one handed over while another is being applied replaces what is left of it.
class NamespaceUpdater {
 public:
  using Apply = std::function<Result<void>(const NamespaceRuleset&)>;
  explicit NamespaceUpdater(Apply apply = apply_in_namespace);
  ~NamespaceUpdater();  ///< after the namespace being written, if any
  NamespaceUpdater(const NamespaceUpdater&) = delete;
  NamespaceUpdater& operator=(const NamespaceUpdater&) = delete;

  void submit(std::vector<NamespaceRuleset> batch);

 private:
  void run(std::stop_token stop);

  Apply apply_;
  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::optional<std::vector<NamespaceRuleset>> pending_;
  std::jthread thread_;  ///< last: started once the members above exist, stopped first
};

}  // namespace prisn::network
