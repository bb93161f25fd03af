// SPDX-License-Identifier: MIT
#include "prisn/config/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace prisn::config {
namespace {

TEST(Listen, ParsesForms) {
  auto a = parse_listen("127.0.0.1:7331").value();
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 7331);
  EXPECT_EQ(parse_listen("[::1]:53").value().host, "::1");
  EXPECT_EQ(parse_listen(":80").value().host, "0.0.0.0");
  EXPECT_FALSE(parse_listen("off").value().enabled);
  EXPECT_EQ(parse_listen("[::1]:53").value().to_string(), "[::1]:53");
  for (const char* bad : {"7331", "host:", "host:70000", "::1:53", "[::1]53"}) {
    EXPECT_FALSE(parse_listen(bad)) << bad;
  }
}

TEST(PortRange, Parses) {
  auto r = parse_port_range("9000-9999").value();
  EXPECT_EQ(r.first, 9000);
  EXPECT_EQ(r.last, 9999);
  EXPECT_FALSE(parse_port_range("9999-9000"));
  EXPECT_FALSE(parse_port_range("0-10"));
  EXPECT_FALSE(parse_port_range("9000"));
}

TEST(Load, ReadsTheSpecExample) {
  const char* yaml = R"(
api:    { listen: 127.0.0.1:7331, auth: loopback }
dns:    { listen: 127.0.0.1:53, domain: prisn.local, upstreams: ["192.0.2.53", "127.0.0.1:5353"], ttl: 5 }
proxy:
  http:  { port: 80, enabled: true }
  https: { port: 443, enabled: true, cert: /etc/prisn/tls/cert.pem, key: /etc/prisn/tls/key.pem }
  tcp:   { enabled: true, portRange: 9000-9999 }
  publishAddress: 0.0.0.0
tls:
  acme:  { enabled: false, email: admin@example.com, staging: false }
network:
  mode: bridge
  subnet: 10.209.0.0/16
  overlay: { enabled: false, type: wireguard, subnet: 10.100.0.0/16 }
)";
  auto cfg = load_text(yaml, "config.yaml", Config{});
  ASSERT_TRUE(cfg) << cfg.error().front().to_string();
  EXPECT_EQ(cfg->dns.upstreams.size(), 2U);
  EXPECT_EQ(cfg->proxy.https.cert, "/etc/prisn/tls/cert.pem");
  EXPECT_EQ(cfg->proxy.https.listen->port, 443);
  EXPECT_EQ(cfg->network.mode, NetworkMode::kBridge);
  EXPECT_EQ(cfg->acme.email, "admin@example.com");
}

TEST(Load, UnknownKeysAndWrongTypesNameKeyFileAndLine) {
  const char* yaml = "api:\n  listen: 127.0.0.1:7331\n  colour: blue\nproxy:\n  http:\n    port: eighty\n";
  auto cfg = load_text(yaml, "/etc/prisn/config.yaml", Config{});
  ASSERT_FALSE(cfg);
  ASSERT_EQ(cfg.error().size(), 2U);
  EXPECT_EQ(cfg.error()[0].to_string(), "/etc/prisn/config.yaml:3: api.colour: unknown key");
  EXPECT_EQ(cfg.error()[1].to_string(), "/etc/prisn/config.yaml:6: proxy.http.port: expected an integer");
}

TEST(Load, DuplicateKeysAreErrorsNotLastOneWins) {
  const char* yaml = "api:\n  listen: 127.0.0.1:7331\n  listen: 0.0.0.0:7331\nproxy: {}\nproxy: {}\n";
  auto cfg = load_text(yaml, "c.yaml", Config{});
  ASSERT_FALSE(cfg);
  ASSERT_EQ(cfg.error().size(), 2U);
  EXPECT_EQ(cfg.error()[0].to_string(), "c.yaml:3: api.listen: duplicate key");
  EXPECT_EQ(cfg.error()[1].to_string(), "c.yaml:5: proxy: duplicate key");
}

TEST(Load, ASecondDocumentIsAnErrorNotIgnored) {
  auto cfg = load_text("api:\n  listen: 127.0.0.1:7331\n---\napi:\n  bogus: 1\n", "c.yaml", Config{});
  ASSERT_FALSE(cfg);
  ASSERT_EQ(cfg.error().size(), 1U);
  EXPECT_EQ(cfg.error()[0].line, 4);
  EXPECT_TRUE(load_text("api:\n  listen: 127.0.0.1:7331\n---\n", "c.yaml", Config{}));  // an empty one is fine
}

TEST(Load, ProxyYamlHoldsOnlyTheProxySection) {
  auto cfg = load_text("proxy: {publishAddress: 127.0.0.1}\napi: {auth: loopback}\n", "proxy.yaml", Config{},
                       Sections::kProxyOnly);
  ASSERT_FALSE(cfg);
  ASSERT_EQ(cfg.error().size(), 1U);
  EXPECT_EQ(cfg.error()[0].to_string(),
            "proxy.yaml:2: api: proxy.yaml holds only the proxy section; put api in the config file");
  auto proxy = load_text("proxy: {publishAddress: 127.0.0.1}\n", "proxy.yaml", Config{}, Sections::kProxyOnly);
  ASSERT_TRUE(proxy);
  EXPECT_EQ(proxy->proxy.publish_address, "127.0.0.1");
}

TEST(Load, DnsUpstreamsAndDomainAreChecked) {
  const char* yaml = "dns:\n  domain: a..b\n  upstreams: [\"10.0.0.2\", \"127.0.0.1:5353\", \"[::1]:53\", \"::1\",\n"
                     "              \"resolver.example\", \"10.0.0.3:0\"]\n";
  auto cfg = load_text(yaml, "c.yaml", Config{});
  ASSERT_FALSE(cfg);
  ASSERT_EQ(cfg.error().size(), 3U);
  EXPECT_EQ(cfg.error()[0].key, "dns.domain");
  EXPECT_EQ(cfg.error()[1].key, "dns.upstreams[4]");
  EXPECT_EQ(cfg.error()[1].line, 4);
  EXPECT_EQ(cfg.error()[2].key, "dns.upstreams[5]");
  EXPECT_TRUE(load_text("dns: {domain: cluster.internal., upstreams: [\"192.0.2.53\"]}\n", "c.yaml", Config{}));
}

TEST(Load, ADocumentThatIsNotAMappingSaysSoWithoutAnEmptyKey) {
  auto cfg = load_text("- a\n", "c.yaml", Config{});
  ASSERT_FALSE(cfg);
  ASSERT_EQ(cfg.error().size(), 1U);
  EXPECT_EQ(cfg.error()[0].to_string(), "c.yaml:1: expected a mapping");
}

TEST(Load, TheOverlayTypeIsOneOfTheSeeds) {
  for (const char* type : {"wireguard", "vxlan", "geneve"}) {
    auto cfg = load_text(std::string("network:\n  overlay: { enabled: true, type: ") + type + " }\n", "c.yaml", Config{});
    ASSERT_TRUE(cfg) << type;
    EXPECT_EQ(cfg->network.overlay_type, type);
  }
  auto cfg = load_text("network:\n  overlay: { enabled: true, type: ipip }\n", "c.yaml", Config{});
  ASSERT_FALSE(cfg);
  ASSERT_EQ(cfg.error().size(), 1U);
  EXPECT_EQ(cfg.error()[0].to_string(), "c.yaml:2: network.overlay.type: expected 'wireguard', 'vxlan' or 'geneve'");
}

TEST(Load, SyntaxErrorHasALine) {
  auto cfg = load_text("api: [unclosed\n", "c.yaml", Config{});
  ASSERT_FALSE(cfg);
  EXPECT_GT(cfg.error().front().line, 0);
}

TEST(Load, EmptyFileKeepsDefaults) {
  auto cfg = load_text("", "c.yaml", Config{});
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->api.listen.port, 7331);
}

TEST(Listen, LocalhostIsTheLoopbackAddress) {
  EXPECT_EQ(parse_listen("localhost:0").value().host, "127.0.0.1");
  EXPECT_FALSE(parse_listen("example.com:80"));  // a listener binds an address, not a name
}

TEST(Load, ValuesCheckedWhereTheFileSaysThem) {
  const char* yaml = "logLevel: loud\nnetwork:\n  subnet: 10.209.0.0/99\ntls:\n  acme: { enabled: true, email: 5 }\n";
  auto cfg = load_text(yaml, "c.yaml", Config{});
  ASSERT_FALSE(cfg);
  ASSERT_EQ(cfg.error().size(), 3U);
  EXPECT_EQ(cfg.error()[0].to_string(), "c.yaml:1: logLevel: expected one of trace, debug, info, warn, error");
  EXPECT_EQ(cfg.error()[1].to_string().rfind("c.yaml:3: network.subnet: ", 0), 0U);
  EXPECT_EQ(cfg.error()[2].to_string().rfind("c.yaml:5: tls.acme.email: expected an email address", 0), 0U);
}

TEST(Load, ADirectoryIsNotAConfigFile) {
  auto cfg = load_file(std::filesystem::temp_directory_path(), Config{});
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error()[0].to_string().find("is a directory"), std::string::npos);
}

}  // namespace
}  // namespace prisn::config
