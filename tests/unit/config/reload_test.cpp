// SPDX-License-Identifier: MIT
#include "prisn/config/reload.hpp"

#include <gtest/gtest.h>

namespace prisn::config {
namespace {

using Keys = std::vector<std::string>;

TEST(Reload, NothingChangedNeedsNoRestart) { EXPECT_EQ(restart_only_changes(Config{}, Config{}), Keys{}); }

TEST(Reload, LiveKeysNeedNoRestart) {
  Config next;
  next.log_level = "debug";
  next.api.auth = ApiAuth::kRequired;
  next.api.body_limit = 4096;
  next.dns.ttl = 30;
  next.proxy.https.cert = "/etc/prisn/tls/new.pem";
  next.supervisor.stop_grace = std::chrono::seconds(3);
  EXPECT_EQ(restart_only_changes(Config{}, next), Keys{});
}

TEST(Reload, ListenersAndNetworkNeedARestart) {
  Config next;
  next.api.listen.port = 7332;
  next.dns.listen.enabled = false;
  next.dns.upstreams = {"192.0.2.53"};
  next.proxy.https.listen = ListenAddress{true, "127.0.0.1", 8443};
  next.proxy.tcp_ports.last = 9100;
  next.acme.enabled = true;
  next.network.mode = NetworkMode::kHost;
  EXPECT_EQ(restart_only_changes(Config{}, next),
            (Keys{"api.listen", "dns.listen", "dns.upstreams", "proxy.https", "proxy.tcp", "tls.acme", "network"}));
}

}  // namespace
}  // namespace prisn::config
