// SPDX-License-Identifier: MIT
#include "prisn/model/deployment_json.hpp"

#include <gtest/gtest.h>

namespace prisn::model {
namespace {

Result<DeploymentSpec> decode(const char* text, DecodeContext ctx = {}) {
  return decode_deployment(Json::parse(text), ctx);
}

std::string error_of(const char* text) {
  auto r = decode(text);
  EXPECT_FALSE(r) << text;
  return r ? std::string() : r.error().message;
}

TEST(DeploymentJson, InfersTypes) {
  EXPECT_EQ(decode(R"j({"name":"a","source":"print(1)","filename":"a.py"})j")->type, DeploymentType::kJob);
  EXPECT_EQ(decode(R"j({"name":"a","source":"x","filename":"a.py","port":8080})j")->type, DeploymentType::kService);
  EXPECT_EQ(decode(R"j({"name":"a","source":"x","filename":"a.py","replicas":2})j")->type, DeploymentType::kService);
  EXPECT_EQ(decode(R"j({"name":"a","source":"x","filename":"a.py","schedule":"* * * * *"})j")->type, DeploymentType::kCron);
  EXPECT_EQ(decode(R"j({"name":"a","source":"x","filename":"a.py","type":"service"})j")->type, DeploymentType::kService);
}

TEST(DeploymentJson, AppliesDefaults) {
  auto s = decode(R"j({"name":"api","source":"x","filename":"api.py","port":8080})j").value();
  EXPECT_EQ(s.ns, "default");
  EXPECT_EQ(s.runtime, "python3");
  EXPECT_EQ(s.replicas, 1);
  EXPECT_EQ(s.restart_policy, RestartPolicy::kAlways);
  ASSERT_EQ(s.ports.size(), 1U);
  EXPECT_EQ(s.ports[0].name, "http");
  auto hc = effective_health_check(s);
  ASSERT_TRUE(hc);
  EXPECT_EQ(hc->kind, HealthCheck::Kind::kTcp);
  auto job = decode(R"j({"name":"j","source":"#!/bin/bash\necho","filename":"j"})j").value();
  EXPECT_EQ(job.runtime, "bash");
  EXPECT_EQ(job.restart_policy, RestartPolicy::kNever);
  EXPECT_FALSE(effective_health_check(job));
}

TEST(DeploymentJson, ContradictionsAre422WithTheField) {
  EXPECT_NE(error_of(R"j({"name":"a","source":"x","filename":"a.py","schedule":"* * * * *","port":80})j").find("port"), std::string::npos);
  EXPECT_NE(error_of(R"j({"name":"a","source":"x","filename":"a.py","type":"job","port":80})j").find("port"), std::string::npos);
  EXPECT_NE(error_of(R"j({"name":"a","source":"x","filename":"a.py","type":"cron"})j").find("schedule"), std::string::npos);
}

TEST(DeploymentJson, RejectsBadFields) {
  struct Case {
    const char* body;
    const char* field;
  };
  for (const Case& c : {
           Case{R"j({"name":"Bad_Name","source":"x","filename":"a.py"})j", "name"},
           Case{R"j({"source":"x","filename":"a.py"})j", "name"},
           Case{R"j({"name":"a","filename":"a.py"})j", "source"},
           Case{R"j({"name":"a","source":"x","runtime":"cobol"})j", "runtime"},
           Case{R"j({"name":"a","source":"x","filename":"a.unknown"})j", "runtime"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","replicas":-1})j", "replicas"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","replicas":"3"})j", "replicas"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","port":70000})j", "port"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","schedule":"61 * * * *"})j", "minute"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","env":{"1X":"y"}})j", "env.1X"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","env":{"X":{}}})j", "env.X"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","env":{"X":"a\u0000b"}})j", "env.X: holds a NUL byte"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","args":["ok","a\u0000b"]})j",
                "args[1]: holds a NUL byte"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","timeout":"soon"})j", "timeout"},
           Case{R"j({"name":"a","source":"x","filename":"../a.py"})j", "filename"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","replicsa":2})j", "replicsa"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","port":80,"healthCheck":{"tcp":{},"exec":{"command":["true"]}}})j",
                "healthCheck: give one of tcp, http or exec"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","type":"service","healthCheck":{"interval":"2s"}})j",
                "healthCheck.tcp: the deployment has no port to check"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","port":80,"healthCheck":{"tcp":{"port":81}}})j", "healthCheck.tcp.port: 81"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","port":80,"loadBalancing":{"algorithm":"fastest"}})j", "algorithm"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","port":80,"env":{"PORT":"80"}})j", "env.PORT: set by prisn"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","ports":[{"name":"metrics","port":90}],"env":{"PORT_METRICS":"1"}})j",
                "env.PORT_METRICS: set by prisn"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","port":80,"secrets":["db:PORT"]})j", "secrets[0].env (PORT)"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","port":80,"expose":{"type":"nodePort"}})j", "nodePort"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","port":80,"expose":{"type":"ingress","host":"Bad Host"}})j", "expose.host"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","port":80,"expose":{"type":"ingress","host":"a.*.com"}})j", "expose.host"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","port":80,"expose":{"type":"ingress","host":"a.com","path":"/a b"}})j", "expose.path"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","port":80,"resources":{"memory":"lots"}})j", "resources.memory"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","secrets":[{"secret":"db","env":"1"}]})j", "secrets[0]"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","secrets":["db/:E"]})j", "secrets[0]: the KEY after '/' is empty"},
           Case{R"j({"name":"a","source":"x","filename":"a.py","secrets":["db:X","other:X"]})j",
                "secrets[1].env: X is already set by secrets[0] (secret 'db')"},
       }) {
    const std::string message = error_of(c.body);
    EXPECT_NE(message.find(c.field), std::string::npos) << c.body << " -> " << message;
  }
}

// execve refuses (E2BIG) a string over 128 KiB, or all of them over a quarter of the stack
// limit: the run could never start, so the field is refused when it is sent.
TEST(DeploymentJson, EnvAndArgsTooLargeForExecveAreRefusedNamingTheField) {
  const std::string big(200 * 1024, 'x');
  auto with = [](const std::string& field, const Json& value) {
    Json body = Json::parse(R"j({"name":"a","source":"x","filename":"a.py"})j");
    body[field] = value;
    return body.dump();
  };
  auto error_of = [](const std::string& text) { return ::prisn::model::error_of(text.c_str()); };
  auto decode = [](const std::string& text) { return ::prisn::model::decode(text.c_str()); };
  EXPECT_EQ(error_of(with("env", {{"A", big}})), "env.A: NAME=value is 204802 bytes, more than an environment variable "
                                                  "can carry (131071 bytes)");
  EXPECT_EQ(error_of(with("args", {"ok", big})), "args[1]: 204800 bytes, more than a command-line argument can carry "
                                                  "(131071 bytes)");
  Json many = Json::object();
  for (int i = 0; i < 10; ++i) many["V" + std::to_string(i)] = std::string(120 * 1024, 'x');
  EXPECT_NE(error_of(with("env", many)).find("more than the 1048576 that args and env may take together"),
            std::string::npos);
  Json too_many = Json::object();
  for (int i = 0; i < 1025; ++i) too_many["V" + std::to_string(i)] = "x";
  EXPECT_EQ(error_of(with("env", too_many)), "env: 1025 variables, more than the 1024 allowed");
  EXPECT_TRUE(decode(with("env", {{"A", std::string(100 * 1024, 'x')}})));
  // Stored before these rules, a deployment still loads: refusing it now would lose it.
  const std::string stored = with("env", {{"A", big}});
  EXPECT_TRUE(::prisn::model::decode(stored.c_str(), DecodeContext{.stored = true}));
  EXPECT_TRUE(::prisn::model::decode(R"j({"name":"a","source":"x","filename":"a.py","secrets":["db:X","o:X"]})j",
                                     DecodeContext{.stored = true}));
}

TEST(DeploymentJson, PortVariablesAreFreeWithoutPorts) {
  // A job or a portless service may use PORT for its own ends; prisn sets none there.
  EXPECT_TRUE(decode(R"j({"name":"a","source":"x","filename":"a.py","env":{"PORT":"5432"}})j"));
  EXPECT_TRUE(decode(R"j({"name":"a","source":"x","filename":"a.py","port":80,"env":{"PORTAL":"x","PORT_OTHER":"1"}})j"));
}

TEST(DeploymentJson, TimingFieldsAloneTuneTheDefaultTcpCheck) {
  auto s = decode(R"j({"name":"a","source":"x","filename":"a.py","port":80,"healthCheck":{"interval":"2s","failureThreshold":5}})j");
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_TRUE(s->health_check);
  EXPECT_EQ(s->health_check->kind, HealthCheck::Kind::kTcp);
  EXPECT_EQ(s->health_check->port, 0);  // the instance's PORT
  EXPECT_EQ(s->health_check->interval, std::chrono::seconds(2));
  EXPECT_EQ(s->health_check->failure_threshold, 5);
}

TEST(DeploymentJson, ExposeHostIsCaseBlind) {
  auto s = decode(R"j({"name":"a","source":"x","filename":"a.py","port":80,"expose":{"type":"ingress","host":"API.Example.com."}})j");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->expose.host, "api.example.com");
}

TEST(DeploymentJson, NameAndNamespaceFromContext) {
  DecodeContext ctx{"prod", "api"};
  auto s = decode(R"j({"source":"x","filename":"a.py"})j", ctx).value();
  EXPECT_EQ(s.name, "api");
  EXPECT_EQ(s.ns, "prod");
  EXPECT_FALSE(decode(R"j({"name":"other","source":"x","filename":"a.py"})j", ctx));
  EXPECT_FALSE(decode(R"j({"namespace":"dev","source":"x","filename":"a.py"})j", ctx));
}

TEST(DeploymentJson, PortsAndAuto) {
  auto s = decode(R"j({"name":"a","source":"x","filename":"a.py","port":9090,
                      "ports":[{"name":"http","port":8080},{"name":"metrics","port":9090}]})j").value();
  EXPECT_EQ(s.ports.front().name, "metrics");  // the service port leads
  auto a = decode(R"j({"name":"a","source":"x","filename":"a.py","port":"auto"})j").value();
  EXPECT_TRUE(a.port_auto);
  EXPECT_EQ(a.type, DeploymentType::kService);
}

TEST(DeploymentJson, SeedHealthCheckBecomesHttp) {
  auto s = decode(R"j({"name":"a","source":"x","filename":"a.py","port":8080,"protocol":"http",
      "loadBalancing":{"algorithm":"least-connections","healthCheck":{"path":"/health","interval":"10s","timeout":"5s","threshold":3}}})j").value();
  ASSERT_TRUE(s.health_check);
  EXPECT_EQ(s.health_check->kind, HealthCheck::Kind::kHttp);
  EXPECT_EQ(s.health_check->path, "/health");
  EXPECT_EQ(s.load_balancing.algorithm, "least-connections");
}

TEST(DeploymentJson, TwoHealthChecksAreRefusedRatherThanOneDropped) {
  auto s = decode(R"j({"name":"a","source":"x","filename":"a.py","port":8080,"healthCheck":{"tcp":{"port":8080}},
      "loadBalancing":{"healthCheck":{"path":"/health"}}})j");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("loadBalancing.healthCheck"), std::string::npos) << s.error().message;
}

TEST(DeploymentJson, AServiceHasNoTimeout) {
  EXPECT_NE(error_of(R"j({"name":"a","source":"x","filename":"a.py","port":8080,"timeout":"30m"})j")
                .find("timeout: only jobs and cron jobs have a timeout"), std::string::npos);
  EXPECT_TRUE(decode(R"j({"name":"a","source":"x","filename":"a.py","port":8080,"timeout":null})j"));
  EXPECT_TRUE(decode(R"j({"name":"a","source":"x","filename":"a.py","port":8080,"timeout":0})j"));
  // One stored before the rule loads, without it (it never applied).
  auto stored = decode(R"j({"name":"a","source":"x","filename":"a.py","port":8080,"timeout":"30m"})j", {.stored = true});
  ASSERT_TRUE(stored);
  EXPECT_FALSE(stored->timeout);
}

TEST(DeploymentJson, AScheduleIsKeptWithoutTheSpacesAroundIt) {
  EXPECT_EQ(decode(R"j({"name":"a","source":"x","filename":"a.py","schedule":"  0 0 * * *  "})j")->schedule, "0 0 * * *");
  EXPECT_EQ(decode(R"j({"name":"a","source":"x","filename":"a.py","schedule":"@weekly "})j")->schedule, "@weekly");
  EXPECT_EQ(decode(R"j({"name":"a","source":"x","filename":"a.py","schedule":"\t@daily\n"})j")->schedule, "@daily");
  EXPECT_EQ(decode(R"j({"name":"a","source":"x","filename":"a.py","schedule":"0 3 * * *\n"})j")->schedule, "0 3 * * *");
}

TEST(DeploymentJson, AnHttpCheckPathIsOneARequestLineCanCarry) {
  EXPECT_NE(error_of(R"j({"name":"a","source":"x","filename":"a.py","port":8080,
      "healthCheck":{"http":{"path":"/h\r\nX-Evil: 1"}}})j").find("healthCheck.http.path: must start with '/' and hold only visible ASCII"),
            std::string::npos);
  EXPECT_NE(error_of(R"j({"name":"a","source":"x","filename":"a.py","port":8080,"healthCheck":{"http":{"path":"/he alth"}}})j")
                .find("healthCheck.http.path"), std::string::npos);
  EXPECT_NE(error_of(R"j({"name":"a","source":"x","filename":"a.py","port":8080,"loadBalancing":{"healthCheck":{"path":"/a b"}}})j")
                .find("loadBalancing.healthCheck.path"), std::string::npos);
  EXPECT_EQ(decode(R"j({"name":"a","source":"x","filename":"a.py","port":8080,"healthCheck":{"http":{"path":"/h?full=1&x=%20"}}})j")
                ->health_check->path, "/h?full=1&x=%20");
  // One stored before the rule loads, with the bytes the rule refuses percent-encoded.
  auto stored = decode(R"j({"name":"a","source":"x","filename":"a.py","port":8080,
      "healthCheck":{"http":{"path":"/he alth\r\n#x"}}})j", {.stored = true});
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->health_check->path, "/he%20alth%0D%0A%23x");
  EXPECT_EQ(decode(R"j({"name":"a","source":"x","filename":"a.py","port":8080,"healthCheck":{"http":{"path":"h"}}})j",
                   {.stored = true})->health_check->path, "/h");
}

TEST(DeploymentJson, APortCheckNeedsAPort) {
  EXPECT_NE(error_of(R"j({"name":"a","source":"x","filename":"a.py","replicas":1,"healthCheck":{"tcp":{}}})j")
                .find("healthCheck.tcp: the deployment has no port to check"), std::string::npos);
  EXPECT_NE(error_of(R"j({"name":"a","source":"x","filename":"a.py","replicas":1,"healthCheck":{"http":{"path":"/"}}})j")
                .find("healthCheck.http: the deployment has no port"), std::string::npos);
  EXPECT_TRUE(decode(R"j({"name":"a","source":"x","filename":"a.py","replicas":1,"healthCheck":{"exec":{"command":["true"]}}})j"));
  EXPECT_TRUE(decode(R"j({"name":"a","source":"x","filename":"a.py","replicas":1,"healthCheck":{"tcp":{}}})j", {.stored = true}));
}

TEST(DeploymentJson, EncodeDecodeRoundTrip) {
  auto s = decode(R"j({"name":"api","source":"print(1)","filename":"api.py","port":8080,"replicas":3,
      "env":{"LOG_LEVEL":"info"},"secrets":[{"secret":"db-password","env":"DATABASE_PASSWORD"}],
      "healthCheck":{"http":{"path":"/health","port":8080,"expectedStatus":200},"interval":"2s"},
      "loadBalancing":{"algorithm":"round-robin","sessionAffinity":{"enabled":true,"type":"cookie","ttl":"1h"}},
      "expose":{"type":"nodePort","nodePort":30080},"resources":{"memory":"256Mi","cpu":"500m","pids":256}})j").value();
  Json out = encode_spec(s, true);
  EXPECT_EQ(out["port"], 8080);
  EXPECT_EQ(out["secrets"][0]["env"], "DATABASE_PASSWORD");
  auto again = decode_deployment(out, {}).value();
  EXPECT_EQ(again, s);
  EXPECT_FALSE(encode_spec(s, false).contains("source"));
}

TEST(DeploymentJson, WhatGetAddsIsAcceptedBack) {
  auto s = decode(R"j({"name":"nightly","source":"x","filename":"a.py","schedule":"0 3 * * *",
      "status":{"phase":"Idle"},"generation":2,"created_at":"2026-11-22T10:00:00Z","updated_at":"2026-11-22T10:00:00Z",
      "next_run":"2026-11-23T03:00:00Z","last_run":null,"skipped_ticks":4})j");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->schedule, "0 3 * * *");
}

TEST(DeploymentJson, RolloutOnlyForProcessChanges) {
  auto a = decode(R"j({"name":"api","source":"x","filename":"a.py","port":8080,"replicas":2})j").value();
  auto scaled = a;
  scaled.replicas = 5;
  EXPECT_FALSE(needs_rollout(a, scaled));
  auto changed = a;
  changed.env["X"] = "1";
  EXPECT_TRUE(needs_rollout(a, changed));
}

TEST(DeploymentJson, WarnsOfADeploymentThatCannotRunOrCannotRollOut) {
  EXPECT_EQ(deployment_warning(Json{{"phase", "Failed"}, {"message", "secret 'x' not found"}}), "secret 'x' not found");
  EXPECT_EQ(deployment_warning(Json{{"phase", "Failed"}}), "it cannot run");
  EXPECT_EQ(deployment_warning(Json{{"phase", "Running"}, {"message", "new instances cannot start: no python9"}}),
            "new instances cannot start: no python9");
  EXPECT_EQ(deployment_warning(Json{{"phase", "CrashLoop"}, {"message", "api-0 exited (exit code 1)"}}), std::nullopt);
  EXPECT_EQ(deployment_warning(Json::object()), std::nullopt);
}

}  // namespace
}  // namespace prisn::model
