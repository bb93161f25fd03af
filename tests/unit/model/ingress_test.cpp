// SPDX-License-Identifier: MIT
#include "prisn/model/ingress.hpp"

#include <gtest/gtest.h>

#include "prisn/model/document.hpp"
#include "prisn/model/network_policy.hpp"

namespace prisn::model {
namespace {

Json seed_ingress() {
  return Json::parse(R"j({
    "apiVersion": "prisn.io/v1", "kind": "Ingress", "metadata": {"name": "api-ingress"},
    "spec": {"rules": [{"host": "api.example.com",
                        "paths": [{"path": "/", "deployment": "api", "port": 8080},
                                  {"path": "/admin", "deployment": "admin-ui", "port": 3000}]}],
             "tls": [{"hosts": ["api.example.com"], "secretName": "api-tls"}]}})j");
}

std::string error_of(const Json& body) {
  auto r = decode_ingress(body, {});
  return r ? "" : r.error().message;
}

TEST(Ingress, DecodesTheSeedDocument) {
  auto spec = decode_ingress(seed_ingress(), {});
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->name, "api-ingress");
  EXPECT_EQ(spec->ns, "default");
  ASSERT_EQ(spec->rules.size(), 1U);
  EXPECT_EQ(spec->rules[0].paths[1].path, "/admin");
  EXPECT_EQ(spec->rules[0].paths[1].deployment, "admin-ui");
  EXPECT_EQ(spec->rules[0].paths[1].port, 3000);
  EXPECT_EQ(spec->tls.at(0).secret_name, "api-tls");
  // The flat JSON the API shows decodes to the same thing.
  auto again = decode_ingress(encode_ingress(*spec), {});
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *spec);
}

TEST(Ingress, ErrorsNameTheField) {
  Json bad = seed_ingress();
  bad["spec"]["rules"][0]["paths"][1]["path"] = "admin";
  EXPECT_EQ(error_of(bad).rfind("rules[0].paths[1].path:", 0), 0U) << error_of(bad);
  bad = seed_ingress();
  bad["spec"]["rules"][0]["host"] = "API.example.com";
  EXPECT_NE(error_of(bad).find("rules[0].host"), std::string::npos);
  bad = seed_ingress();
  bad["spec"]["rules"][0]["paths"][0]["deployment"] = "Bad_Name";
  EXPECT_NE(error_of(bad).find("rules[0].paths[0].deployment"), std::string::npos);
  bad = seed_ingress();
  bad["spec"]["rules"][0]["paths"][0]["colour"] = "red";
  EXPECT_NE(error_of(bad).find("rules[0].paths[0].colour: unknown field"), std::string::npos);
  bad = seed_ingress();
  bad["spec"]["rules"] = Json::array();
  EXPECT_NE(error_of(bad).find("rules:"), std::string::npos);
  bad = seed_ingress();
  bad["spec"]["rules"][0]["paths"][1]["path"] = "/";
  EXPECT_NE(error_of(bad).find("routed twice"), std::string::npos);
  bad = seed_ingress();
  bad["metadata"].erase("name");
  EXPECT_EQ(error_of(bad), "metadata.name is required");
  bad = seed_ingress();
  bad["metadata"] = Json::array({"x"});
  EXPECT_EQ(error_of(bad), "metadata: must be a mapping (name, namespace)");
  bad = seed_ingress();
  bad["kind"] = "Deployment";
  EXPECT_NE(error_of(bad).find("kind:"), std::string::npos);
}

TEST(Ingress, Hosts) {
  for (const char* ok : {"api.example.com", "*.example.com", "localhost", "a-b.c0"}) {
    EXPECT_TRUE(is_valid_ingress_host(ok)) << ok;
  }
  for (const char* bad : {"", "*.", "*", "a..b", "-a.b", "a_b.c", "API.example.com", "*.*.example.com", "a.*.b"}) {
    EXPECT_FALSE(is_valid_ingress_host(bad)) << bad;
  }
}

TEST(NetworkPolicy, DecodesTheSeedDocument) {
  const Json doc = Json::parse(R"j({
    "apiVersion": "prisn.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "db-access", "namespace": "default"},
    "spec": {"target": {"deployment": "postgres"},
             "ingress": [{"from": [{"deployment": "api"}, {"deployment": "worker"}], "ports": [5432]}]}})j");
  auto spec = decode_network_policy(doc, {});
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->target, "postgres");
  ASSERT_EQ(spec->ingress.size(), 1U);
  EXPECT_EQ(spec->ingress[0].from, (std::vector<std::string>{"api", "worker"}));
  EXPECT_EQ(spec->ingress[0].ports, (std::vector<std::uint16_t>{5432}));
  auto again = decode_network_policy(encode_network_policy(*spec), {});
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *spec);
  Json bad = doc;
  bad["spec"]["ingress"][0]["ports"][0] = 70000;
  auto r = decode_network_policy(bad, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("ingress[0].ports[0]"), std::string::npos);
}

TEST(Document, FlattensMetadataAndSpec) {
  auto flat = flatten_document(Json::parse(
      R"j({"apiVersion": "prisn.io/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "prod"},
           "spec": {"port": 8080}})j"));
  ASSERT_TRUE(flat);
  EXPECT_EQ(flat->kind, "Deployment");
  EXPECT_EQ(flat->body, Json::parse(R"j({"name": "api", "namespace": "prod", "port": 8080})j"));
  EXPECT_FALSE(flatten_document(Json::parse(R"j({"apiVersion": "v2", "kind": "Deployment", "metadata": {"name": "a"}})j")));
  EXPECT_FALSE(flatten_document(Json::parse(R"j({"kind": "Pod", "metadata": {"name": "a"}})j")));
  EXPECT_FALSE(flatten_document(Json::parse(R"j({"kind": "Ingress", "metadata": {"name": "a"}, "spec": {"name": "b"}})j")));
}

}  // namespace
}  // namespace prisn::model
