// SPDX-License-Identifier: MIT
#include "prisn/manifest/manifest.hpp"

#include <gtest/gtest.h>

namespace prisn::manifest {
namespace {

constexpr const char* kSeed = R"y(apiVersion: prisn.io/v1
kind: Deployment
metadata:
  name: api
spec:
  file: api.py
  port: 8080
  replicas: 3
  protocol: http
  loadBalancing:
    algorithm: least-connections
    healthCheck:
      path: /health
      interval: 10s
      timeout: 5s
      threshold: 3
---
apiVersion: prisn.io/v1
kind: Ingress
metadata:
  name: api-ingress
spec:
  rules:
    - host: api.example.com
      paths:
        - path: /
          deployment: api
          port: 8080
  tls:
    - hosts: [api.example.com]
      secretName: api-tls
---
apiVersion: prisn.io/v1
kind: NetworkPolicy
metadata:
  name: db-access
  namespace: default
spec:
  target:
    deployment: postgres
  ingress:
    - from:
        - deployment: api
      ports:
        - 5432
)y";

std::string error_of(std::string_view text, const Files& files = {{"api.py", "print(1)\n"}}) {
  auto docs = parse(text);
  if (!docs) return docs.error().message;
  auto items = decode(*docs, "", files);
  return items ? "" : items.error().message;
}

TEST(Manifest, ParsesTheSeedsThreeKinds) {
  auto docs = parse(kSeed);
  ASSERT_TRUE(docs) << docs.error().message;
  ASSERT_EQ(docs->size(), 3U);
  EXPECT_EQ((*docs)[0].body["spec"]["port"], 8080);  // plain scalars are typed
  EXPECT_EQ((*docs)[1].line, 18);
  EXPECT_EQ((*docs)[0].lines.at("spec.replicas"), 8);
  const auto files = referenced_files(*docs);
  ASSERT_EQ(files.size(), 1U);
  EXPECT_EQ(files[0].path, "api.py");
  EXPECT_EQ(files[0].where, "document 1 (Deployment api), line 6");
  auto items = decode(*docs, "", {{"api.py", "print(1)\n"}});
  ASSERT_TRUE(items) << items.error().message;
  ASSERT_EQ(items->size(), 3U);
  const auto& dep = std::get<model::DeploymentSpec>((*items)[0].spec);
  EXPECT_EQ(dep.source, "print(1)\n");
  EXPECT_EQ(dep.filename, "api.py");
  EXPECT_EQ(dep.runtime, "python3");
  EXPECT_EQ(dep.replicas, 3);
  EXPECT_EQ(dep.load_balancing.algorithm, "least-connections");
  ASSERT_TRUE(dep.health_check);
  EXPECT_EQ(dep.health_check->kind, model::HealthCheck::Kind::kHttp);
  EXPECT_EQ(std::get<model::IngressSpec>((*items)[1].spec).tls.at(0).secret_name, "api-tls");
  EXPECT_EQ(std::get<model::NetworkPolicySpec>((*items)[2].spec).target, "postgres");
  EXPECT_EQ((*items)[1].where, "document 2 (Ingress api-ingress)");
}

TEST(Manifest, QuotedScalarsStayStrings) {
  auto docs = parse("a: \"8080\"\nb: 8080\nc: 'true'\nd: true\ne: ~\nf: 1.5\ng: 0 3 * * *\n");
  ASSERT_TRUE(docs);
  const auto& b = (*docs)[0].body;
  EXPECT_TRUE(b["a"].is_string());
  EXPECT_TRUE(b["b"].is_number_integer());
  EXPECT_TRUE(b["c"].is_string());
  EXPECT_TRUE(b["d"].is_boolean());
  EXPECT_TRUE(b["e"].is_null());
  EXPECT_TRUE(b["f"].is_number_float());
  EXPECT_EQ(b["g"], "0 3 * * *");
}

TEST(Manifest, EnvironmentValuesAndArgumentsKeepTheirText) {
  auto docs = parse("spec:\n  replicas: 3\n  env: {VERSION: 1.10, ZIP: 01234, HEX: 0x10, FLAG: true, BIG: 12345678901234567890,"
                    " EMPTY: ~}\n  args: [1.10, 010, --v, yes]\n");
  ASSERT_TRUE(docs);
  const auto& spec = (*docs)[0].body["spec"];
  EXPECT_TRUE(spec["replicas"].is_number_integer());
  EXPECT_EQ(spec["env"]["VERSION"], "1.10");
  EXPECT_EQ(spec["env"]["ZIP"], "01234");
  EXPECT_EQ(spec["env"]["HEX"], "0x10");
  EXPECT_EQ(spec["env"]["FLAG"], "true");
  EXPECT_EQ(spec["env"]["BIG"], "12345678901234567890");
  EXPECT_TRUE(spec["env"]["EMPTY"].is_null());  // still refused as a value, with its line
  EXPECT_EQ(spec["args"], model::Json::parse(R"(["1.10", "010", "--v", "yes"])"));
}

TEST(Manifest, ErrorsNameTheDocumentTheFieldAndTheLine) {
  std::string bad = kSeed;
  bad.replace(bad.find("replicas: 3"), 11, "replicas: -1");
  EXPECT_EQ(error_of(bad).rfind("document 1 (Deployment api), line 8: spec.replicas:", 0), 0U) << error_of(bad);
  bad = kSeed;
  bad.replace(bad.find("        - path: /"), 17, "        - path: nope");
  EXPECT_EQ(error_of(bad).rfind("document 2 (Ingress api-ingress), line 26: spec.rules[0].paths[0].path:", 0), 0U)
      << error_of(bad);
  bad = kSeed;
  bad.replace(bad.find("  name: db-access"), 17, "  name: DB");
  EXPECT_EQ(error_of(bad).rfind("document 3 (NetworkPolicy DB), line 36: metadata.name:", 0), 0U) << error_of(bad);
  bad = kSeed;
  bad.replace(bad.find("  port: 8080\n  replicas"), 12, "  colour: re");
  EXPECT_NE(error_of(bad).find("line 7: spec.colour: unknown field"), std::string::npos) << error_of(bad);
  // A Deployment field put beside spec, not under it: named as it stands, on its own line.
  bad = kSeed;
  bad.replace(bad.find("spec:\n"), 6, "replicas: 2\nspec:\n");
  EXPECT_EQ(error_of(bad).rfind("document 1 (Deployment api), line 5: replicas: unknown field at the top level of the "
                                "document, which holds apiVersion, kind, metadata and spec (a Deployment's fields go "
                                "under spec)", 0), 0U) << error_of(bad);
}

TEST(Manifest, TheRequestsNamespaceFillsInButNeverOverrides) {
  const Files files{{"api.py", "print(1)\n"}};
  auto docs = parse(kSeed);
  ASSERT_TRUE(docs);
  auto namespace_of = [](const Item& item) {
    return std::visit([](const auto& spec) { return spec.ns; }, item.spec);
  };
  auto plain = decode(*docs, "", files);  // documents without a namespace go to default
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(namespace_of((*plain)[0]), "default");
  auto same = decode(*docs, "default", files);
  ASSERT_TRUE(same) << same.error().message;
  // NetworkPolicy db-access says `namespace: default`: -n prod does not move it quietly
  auto other = decode(*docs, "prod", files);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().message.rfind("document 3 (NetworkPolicy db-access), line 37: metadata.namespace: 'default' "
                                        "does not match the namespace of the request, 'prod'", 0), 0U)
      << other.error().message;
  docs->pop_back();
  auto moved = decode(*docs, "prod", files);
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(namespace_of((*moved)[0]), "prod");
  EXPECT_EQ(namespace_of((*moved)[1]), "prod");
}

TEST(Manifest, ScriptsMustBeSent) {
  EXPECT_NE(error_of(kSeed, {}).find("spec.file: 'api.py' was not sent"), std::string::npos) << error_of(kSeed, {});
  const auto none = error_of("apiVersion: prisn.io/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {port: 8080}\n");
  EXPECT_NE(none.find("spec.source: required: give the script as file (a path) or source"), std::string::npos) << none;
}

TEST(Manifest, SyntaxErrorsHaveALine) {
  auto docs = parse("a: [1, 2\nb: c\n");
  ASSERT_FALSE(docs);
  EXPECT_EQ(docs.error().kind, Error::Kind::kBadRequest);
  EXPECT_NE(docs.error().message.find("line"), std::string::npos);
}

TEST(Manifest, DuplicatesAndUnknownKindsAreRefused) {
  const std::string twice = std::string(kSeed) + "---\n" + std::string(kSeed).substr(0, std::string(kSeed).find("---"));
  EXPECT_NE(error_of(twice).find("already in document 1"), std::string::npos) << error_of(twice);
  EXPECT_NE(error_of("apiVersion: prisn.io/v1\nkind: Pod\nmetadata: {name: a}\n").find("kind:"), std::string::npos);
}

TEST(Manifest, ADocumentSaysItsApiVersion) {
  const auto none = error_of("kind: Ingress\nmetadata: {name: a}\nspec: {rules: []}\n");
  EXPECT_NE(none.find("apiVersion is required: prisn.io/v1"), std::string::npos) << none;
  const auto other = error_of("apiVersion: apps/v1\nkind: Ingress\nmetadata: {name: a}\nspec: {rules: []}\n");
  EXPECT_NE(other.find("apiVersion: must be prisn.io/v1"), std::string::npos) << other;
}

TEST(Manifest, JsonListsAndItemsAreDocuments) {
  auto list = parse(R"j([{"kind": "Ingress", "metadata": {"name": "a"}, "spec": {"rules": []}}, {"kind": "Ingress"}])j");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 2U);
  auto items = parse(R"j({"items": [{"kind": "Ingress"}]})j");
  ASSERT_TRUE(items);
  EXPECT_EQ(items->size(), 1U);
  EXPECT_FALSE(parse("---\n---\n"));
}

}  // namespace
}  // namespace prisn::manifest

namespace prisn::manifest {
namespace {

TEST(Manifest, HostileNestingAndAliasesAreRefused) {
  EXPECT_FALSE(parse("a: " + std::string(100000, '[') + std::string(100000, ']') + "\n"));
  std::string laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) laughs += (k ? ", *a" : "*a") + std::to_string(i - 1);
    laughs += "]\n";
  }
  auto r = parse(laughs);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("aliases"), std::string::npos);
  EXPECT_TRUE(parse("a: [[1, 2], {b: [3]}]\n"));
}

// Few nodes, many bytes: one large scalar aliased a few hundred times.
TEST(Manifest, ALargeScalarAliasedManyTimesIsRefusedByItsBytes) {
  std::string big = "a: &a " + std::string(1 << 20, 'x') + "\nb: [";
  for (int i = 0; i < 40; ++i) big += i ? ", *a" : "*a";
  big += "]\n";
  auto r = parse(big);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("MiB of text (aliases?)"), std::string::npos) << r.error().message;
}

// yaml-cpp takes any bytes; the JSON model cannot hold those that are not UTF-8.
TEST(Manifest, TextThatIsNotUtf8IsRefusedWithItsLine) {
  auto r = parse("apiVersion: prisn.io/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {env: {CITY: caf\xe9}}\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Error::Kind::kBadRequest);
  EXPECT_EQ(r.error().message.rfind("malformed YAML at line 4: not UTF-8 text", 0), 0U) << r.error().message;
  EXPECT_TRUE(parse("a: caf\xc3\xa9\n"));
}

// Found by fuzz_manifest: yaml-cpp 0.7's LoadAll loops forever on these (issue #1040).
TEST(Manifest, StrayCommaWhereADocumentStartsIsAnErrorNotAHang) {
  for (const char* text : {",\n", "- a\n,b\n", "---\n,a\n", "  ,a\n", ",a: &x  :`1\nrt: 80}="}) {
    auto r = parse(text);
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.error().message.find("malformed YAML at line"), std::string::npos) << r.error().message;
  }
  auto many = parse("a: 1\n---\nb: 2\n---\n");
  ASSERT_TRUE(many);
  EXPECT_EQ(many->size(), 2u);
}

// Found by fuzz_manifest: an alias inside its own anchor is a cycle, and converting it
// recursed until the stack overflowed.
TEST(Manifest, SelfReferencingAliasIsRefused) {
  auto r = parse("a0: &a0 [x, x]\na1: &a1 [*a0, *a1]\n");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("levels deep"), std::string::npos) << r.error().message;
  EXPECT_TRUE(parse("a: " + std::string(60, '[') + "1" + std::string(60, ']') + "\n")) << "real nesting still fits";
}

TEST(Manifest, ADuplicateKeyIsAnErrorWithItsLine) {
  auto docs = parse("kind: Ingress\nmetadata:\n  name: a\n  name: b\n");
  ASSERT_FALSE(docs);
  EXPECT_EQ(docs.error().message, "malformed YAML at line 4: duplicate key 'name'");
}

TEST(Manifest, MergeKeysTakeTheKeysAMappingDoesNotSet) {
  auto docs = parse(
      "defaults: &d {LEVEL: info, REGION: eu, N: 1}\n"
      "more: &m {<<: *d, EXTRA: x}\n"
      "spec:\n"
      "  env:\n"
      "    <<: [*m, {LEVEL: other, LATE: y}]\n"
      "    LEVEL: debug\n"
      "  '<<': quoted\n");
  ASSERT_TRUE(docs) << docs.error().message;
  const auto& spec = (*docs)[0].body["spec"];
  EXPECT_EQ(spec["env"], model::Json::parse(R"({"LEVEL":"debug","REGION":"eu","N":"1","EXTRA":"x","LATE":"y"})"));
  EXPECT_EQ(spec["<<"], "quoted");  // a quoted << is an ordinary key
  EXPECT_EQ((*docs)[0].lines.at("spec.env.REGION"), 1);  // where the merged value is written
  auto bad = parse("spec:\n  <<: [1, 2]\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "malformed YAML at line 2: '<<' merges a mapping or a list of mappings");
}

}  // namespace
}  // namespace prisn::manifest
