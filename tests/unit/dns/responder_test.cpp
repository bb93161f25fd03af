// SPDX-License-Identifier: MIT
#include "prisn/dns/responder.hpp"

#include <gtest/gtest.h>

#include "prisn/dns/codec.hpp"
#include "support/dns_packets.hpp"

using namespace prisn::dns;
using prisn::test::parsed;
using prisn::test::query_wire;
using Bytes = std::vector<std::uint8_t>;

namespace {

ServiceEntry service(const std::string& name, int instances, int healthy, bool distinct_ips = false) {
  ServiceEntry s{"default", name, {"http", "metrics"}, {}};
  for (int i = 0; i < instances; ++i) {
    ServiceEntry::Instance inst;
    inst.name = name + "-" + std::to_string(i);
    inst.ip = distinct_ips ? Ipv4{10, 209, 0, static_cast<std::uint8_t>(5 + i)} : Ipv4{127, 0, 0, 1};
    inst.ports = {static_cast<std::uint16_t>(40000 + i), static_cast<std::uint16_t>(41000 + i)};
    inst.healthy = i < healthy;
    s.instances.push_back(inst);
  }
  return s;
}

struct Fixture : ::testing::Test {
  std::shared_ptr<const Zone> zone = Zone::build({.domain = "prisn.local", .ttl = 5},
                                                 {service("api", 3, 3, true), service("web", 2, 1), service("down", 2, 0),
                                                  service("big", 40, 40)},
                                                 42);
  Message ask(const Bytes& query, RespondOptions options = {}) {
    Bytes out;
    const Reply r = respond(*zone, query, options, out);
    EXPECT_EQ(r.outcome, Outcome::kAnswered);
    return parsed(out);
  }
  Message ask(const std::string& name, std::uint16_t type = type::kA, RespondOptions options = {}) {
    return ask(query_wire(name, type), options);
  }
};

std::string a_text(const Record& rr) { return rdata_text(rr); }

}  // namespace

TEST_F(Fixture, ServiceNameAnswersEveryHealthyInstanceIp) {
  const Message m = ask("api.default.prisn.local");
  EXPECT_TRUE(m.qr && m.aa);
  EXPECT_EQ(m.rcode, rcode::kNoError);
  ASSERT_EQ(m.answers.size(), 3U);
  for (const auto& rr : m.answers) {
    EXPECT_EQ(rr.ttl, 5U);
    EXPECT_EQ(rr.type, type::kA);
  }
  EXPECT_EQ(a_text(m.answers[0]), "10.209.0.5");
  EXPECT_EQ(m.id, 0x1234);
  EXPECT_TRUE(m.rd);
}

TEST_F(Fixture, AnswersRotatePerQuery) {
  std::set<std::string> firsts;
  for (std::uint32_t r = 0; r < 3; ++r) firsts.insert(a_text(ask("api.default.prisn.local", type::kA, {.rotation = r}).answers[0]));
  EXPECT_EQ(firsts.size(), 3U);
}

TEST_F(Fixture, SameIpInstancesGiveOneDistinctRecord) {
  const Message m = ask("web.default.prisn.local");
  ASSERT_EQ(m.answers.size(), 1U);
  EXPECT_EQ(a_text(m.answers[0]), "127.0.0.1");
}

TEST_F(Fixture, QuestionCaseIsEchoed) {
  Bytes out;
  respond(*zone, query_wire("API.Default.Prisn.Local"), {}, out);
  const Message m = parsed(out);
  EXPECT_EQ(m.questions.at(0).name.to_text(), "API.Default.Prisn.Local");
  EXPECT_EQ(m.answers.at(0).name.to_text(), "API.Default.Prisn.Local");
}

TEST_F(Fixture, InstanceNamesAnswerWhileHealthy) {
  EXPECT_EQ(a_text(ask("api-1.api.default.prisn.local").answers.at(0)), "10.209.0.6");
  const Message sick = ask("web-1.web.default.prisn.local");
  EXPECT_EQ(sick.rcode, rcode::kNoError);
  EXPECT_TRUE(sick.answers.empty());
}

TEST_F(Fixture, SrvListsHealthyInstancesWithGlue) {
  const Message m = ask("_http._tcp.web.default.prisn.local", type::kSrv);
  ASSERT_EQ(m.answers.size(), 1U);
  const auto& srv = std::get<SrvData>(m.answers[0].data);
  EXPECT_EQ(srv.priority, 0);
  EXPECT_EQ(srv.weight, 10);
  EXPECT_EQ(srv.port, 40000);
  EXPECT_EQ(srv.target.to_text(), "web-0.web.default.prisn.local");
  ASSERT_EQ(m.additional.size(), 1U);
  EXPECT_EQ(m.additional[0].name.to_text(), "web-0.web.default.prisn.local");
  EXPECT_EQ(a_text(m.additional[0]), "127.0.0.1");
  const Message metrics = ask("_metrics._tcp.web.default.prisn.local", type::kSrv);
  EXPECT_EQ(std::get<SrvData>(metrics.answers.at(0).data).port, 41000);
}

TEST_F(Fixture, KnownNameWithoutHealthyInstancesIsNodataWithSoa) {
  for (const auto& [name, t] : std::vector<std::pair<std::string, std::uint16_t>>{
           {"down.default.prisn.local", type::kA},
           {"api.default.prisn.local", type::kAaaa},
           {"_http._tcp.down.default.prisn.local", type::kSrv},
           {"default.prisn.local", type::kA},
           {"_tcp.api.default.prisn.local", type::kSrv}}) {
    const Message m = ask(name, t);
    EXPECT_EQ(m.rcode, rcode::kNoError) << name;
    EXPECT_TRUE(m.answers.empty()) << name;
    ASSERT_EQ(m.authority.size(), 1U) << name;
    EXPECT_EQ(m.authority[0].type, type::kSoa);
    EXPECT_EQ(m.authority[0].name.to_text(), "prisn.local");
  }
}

TEST_F(Fixture, UnknownNameInZoneIsNxdomainWithSoa) {
  const Message m = ask("nope.default.prisn.local");
  EXPECT_EQ(m.rcode, rcode::kNxDomain);
  EXPECT_TRUE(m.aa);
  ASSERT_EQ(m.authority.size(), 1U);
  const auto& soa = std::get<SoaData>(m.authority[0].data);
  EXPECT_EQ(soa.mname.to_text(), "ns.prisn.local");
  EXPECT_EQ(soa.serial, 42U);
  EXPECT_EQ(soa.minimum, 5U);
  EXPECT_EQ(ask("x.api-0.api.default.prisn.local").rcode, rcode::kNxDomain);
  EXPECT_EQ(ask("other.prisn.local").rcode, rcode::kNxDomain);
}

TEST_F(Fixture, ApexHasSoaAndNs) {
  const Message soa = ask("prisn.local", type::kSoa);
  ASSERT_EQ(soa.answers.size(), 1U);
  EXPECT_EQ(soa.answers[0].type, type::kSoa);
  const Message ns = ask("prisn.local", type::kNs);
  ASSERT_EQ(ns.answers.size(), 1U);
  EXPECT_EQ(rdata_text(ns.answers[0]), "ns.prisn.local");
  ASSERT_EQ(ns.additional.size(), 1U);
  EXPECT_EQ(a_text(ns.additional[0]), "127.0.0.1");
  EXPECT_EQ(a_text(ask("ns.prisn.local").answers.at(0)), "127.0.0.1");
}

TEST_F(Fixture, EdnsQueriesGetOptBack) {
  const Message m = ask(query_wire("api.default.prisn.local", type::kA, /*edns=*/true));
  ASSERT_TRUE(m.edns);
  EXPECT_EQ(m.edns->udp_size, 1232);
  EXPECT_FALSE(ask("api.default.prisn.local").edns);
}

TEST_F(Fixture, EdnsVersionAboveZeroIsBadvers) {
  Message q;
  q.questions.push_back({*Name::from_text("api.default.prisn.local"), type::kA, kClassIn});
  q.edns = Edns{.udp_size = 1232, .version = 1};
  Bytes wire;
  serialize(q, wire);
  const Message m = ask(wire);
  EXPECT_EQ(m.rcode, rcode::kBadVers);
  EXPECT_TRUE(m.answers.empty());
}

TEST_F(Fixture, LargeAnswerOverUdpSetsTcAndFitsOverTcp) {
  const auto q = query_wire("_http._tcp.big.default.prisn.local", type::kSrv);
  const Message udp = ask(q);
  EXPECT_TRUE(udp.tc);
  EXPECT_TRUE(udp.answers.empty());
  EXPECT_EQ(udp.questions.size(), 1U);
  Bytes out;
  respond(*zone, q, {}, out);
  EXPECT_LE(out.size(), 512U);
  const Message tcp = ask(q, {.tcp = true});
  EXPECT_FALSE(tcp.tc);
  EXPECT_EQ(tcp.answers.size(), 40U);
  EXPECT_EQ(tcp.additional.size(), 40U);
}

TEST_F(Fixture, AdvertisedEdnsSizeIsHonoured) {
  const auto q = query_wire("_http._tcp.big.default.prisn.local", type::kSrv, true, 4096);
  Bytes out;
  respond(*zone, q, {}, out);
  EXPECT_GT(out.size(), 512U);
  EXPECT_LE(out.size(), 4096U);
  const Message m = parsed(out);
  EXPECT_FALSE(m.tc);
  EXPECT_EQ(m.answers.size(), 40U);
  // A small advertised size below 512 still gets 512.
  Bytes small;
  respond(*zone, query_wire("_http._tcp.big.default.prisn.local", type::kSrv, true, 100), {}, small);
  EXPECT_TRUE(parsed(small).tc);
}

TEST_F(Fixture, MalformedQueriesGetFormerr) {
  Bytes two = query_wire("api.default.prisn.local");
  two[5] = 2;  // QDCOUNT 2 with one question present
  EXPECT_EQ(ask(two).rcode, rcode::kFormErr);
  Bytes trailing = query_wire("api.default.prisn.local");
  trailing.push_back(0);
  EXPECT_EQ(ask(trailing).rcode, rcode::kFormErr);
  Bytes cut = query_wire("api.default.prisn.local");
  cut.resize(20);
  const Message m = ask(cut);
  EXPECT_EQ(m.rcode, rcode::kFormErr);
  EXPECT_EQ(m.id, 0x1234);
  EXPECT_TRUE(m.qr);
}

TEST_F(Fixture, OtherOpcodesAreNotimp) {
  Bytes q = query_wire("api.default.prisn.local");
  q[2] = static_cast<std::uint8_t>(q[2] | (5 << 3));  // UPDATE
  EXPECT_EQ(ask(q).rcode, rcode::kNotImp);
}

TEST_F(Fixture, ResponsesAndRuntsAreDropped) {
  Bytes q = query_wire("api.default.prisn.local");
  q[2] |= 0x80;
  Bytes out;
  EXPECT_EQ(respond(*zone, q, {}, out).outcome, Outcome::kDrop);
  EXPECT_EQ(respond(*zone, Bytes{1, 2, 3}, {}, out).outcome, Outcome::kDrop);
}

TEST_F(Fixture, ZoneTransfersAndOtherClassesAreRefused) {
  EXPECT_EQ(ask("prisn.local", type::kAxfr).rcode, rcode::kRefused);
  EXPECT_EQ(ask("prisn.local", type::kIxfr).rcode, rcode::kRefused);
  Bytes chaos = query_wire("api.default.prisn.local");
  chaos[chaos.size() - 1] = 3;  // CH
  EXPECT_EQ(ask(chaos).rcode, rcode::kRefused);
}

TEST_F(Fixture, NamesOutsideTheZoneForwardOnlyForLocalClients) {
  Bytes out;
  EXPECT_EQ(respond(*zone, query_wire("example.com"), {.may_forward = true}, out).outcome, Outcome::kForward);
  const Message refused = ask("example.com");
  EXPECT_EQ(refused.rcode, rcode::kRefused);
  EXPECT_FALSE(refused.ra);
  EXPECT_EQ(ask("xprisn.local").rcode, rcode::kRefused);
}

// A 63-character service name is valid; its instances' names (64 bytes and more) cannot be
// labels: they are left out, and their SRV records target the service's own name.
TEST(DnsZone, InstanceNamesTooLongForALabelAreLeftOut) {
  const std::string name(63, 'a');
  auto zone = Zone::build({.domain = "prisn.local", .ttl = 5}, {service(name, 2, 2)}, 1);
  Bytes out;
  respond(*zone, query_wire("_http._tcp." + name + ".default.prisn.local", type::kSrv), {}, out);
  const Message m = parsed(out);  // parses: no label over 63 bytes was written
  ASSERT_EQ(m.answers.size(), 2U);
  for (const auto& rr : m.answers) {
    EXPECT_NE(rdata_text(rr).find(" " + name + ".default.prisn.local"), std::string::npos) << rdata_text(rr);
  }
  ASSERT_EQ(m.additional.size(), 1U);  // both instances are 127.0.0.1: one A for the name
  EXPECT_EQ(rdata_text(m.additional[0]), "127.0.0.1");
  out.clear();
  respond(*zone, query_wire(name + ".default.prisn.local", type::kA), {}, out);
  EXPECT_EQ(parsed(out).answers.size(), 1U);
}

TEST(DnsZone, BuildsEmptyNonTerminalsAndCountsNodes) {
  auto zone = Zone::build({}, {}, 1);
  EXPECT_TRUE(zone->contains(Name::from_text("a.prisn.local")->wire()));
  EXPECT_FALSE(zone->contains(Name::from_text("prisn.localx")->wire()));
  EXPECT_NE(zone->find(Name::from_text("prisn.local")->wire()), nullptr);
  EXPECT_EQ(zone->find(Name::from_text("a.prisn.local")->wire()), nullptr);
}
