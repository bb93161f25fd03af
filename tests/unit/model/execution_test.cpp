// SPDX-License-Identifier: MIT
#include "prisn/model/execution.hpp"

#include <gtest/gtest.h>

namespace prisn::model {
namespace {

TEST(ExecutionRequest, TriggerForm) {
  auto r = decode_execution_request(Json::parse(R"j({"deployment_id":"backup-job","env":{"A":"1"}})j"), "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->deployment_id, "backup-job");
  EXPECT_EQ(r->ns, "default");
  EXPECT_EQ(r->env.at("A"), "1");
  EXPECT_EQ(r->trigger, "api");
}

TEST(ExecutionRequest, SourceForm) {
  auto r = decode_execution_request(
      Json::parse(R"j({"source":"print('hello')","runtime":"python3","args":["a"],"timeout":"10m","trigger":"cli"})j"), "ns1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->runtime, "python3");
  EXPECT_EQ(r->timeout, Millis(600'000));
  EXPECT_EQ(r->ns, "ns1");
  EXPECT_EQ(r->trigger, "cli");
}

TEST(ExecutionRequest, Errors) {
  for (const char* bad : {R"j({})j", R"j({"deployment_id":"Bad!"})j", R"j({"source":"x"})j",
                          R"j({"source":"x","runtime":"cobol"})j", R"j({"deployment_id":"a","trigger":"me"})j",
                          R"j({"deployment_id":"a","source":"x"})j", R"j([1,2])j", R"j({"deployment_id":"a","bogus":1})j"}) {
    auto r = decode_execution_request(Json::parse(bad), "");
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().kind, Error::Kind::kInvalid);
    }
  }
}

TEST(ExecutionRequest, ANulByteInEnvOrArgsIsRefusedNotCutShort) {
  auto env = decode_execution_request(Json::parse(R"j({"deployment_id":"a","env":{"X":"a\u0000b"}})j"), "");
  ASSERT_FALSE(env);
  EXPECT_EQ(env.error().message, "env.X: holds a NUL byte, which an environment variable cannot carry");
  auto args = decode_execution_request(Json::parse(R"j({"source":"x","runtime":"bash","args":["a\u0000b"]})j"), "");
  ASSERT_FALSE(args);
  EXPECT_EQ(args.error().message, "args[0]: holds a NUL byte, which a command-line argument cannot carry");
}

// Args are read as a deployment's are: numbers as their text, sizes execve can take.
TEST(ExecutionRequest, ArgsAreReadAsADeploymentsAre) {
  auto numbers = decode_execution_request(Json::parse(R"j({"source":"x","runtime":"bash","args":[1,true]})j"), "");
  ASSERT_TRUE(numbers) << numbers.error().message;
  EXPECT_EQ(numbers->args, (std::vector<std::string>{"1", "true"}));
  Json body = Json::parse(R"j({"source":"x","runtime":"bash"})j");
  body["args"] = {std::string(200 * 1024, 'x')};
  auto big = decode_execution_request(body, "");
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().message, "args[0]: 204800 bytes, more than a command-line argument can carry (131071 bytes)");
}

TEST(Execution, EncodesSpecFields) {
  Execution e;
  e.id = "ex-1";
  e.deployment = "backup-job";
  e.status = ExecStatus::kCompleted;
  e.exit_code = 0;
  e.created_at = from_epoch_ms(1'000'000);
  e.started_at = from_epoch_ms(1'000'000);
  e.completed_at = from_epoch_ms(1'001'234);
  Json j = encode_execution(e);
  EXPECT_EQ(j["status"], "Completed");
  EXPECT_EQ(j["deployment_id"], "backup-job");
  EXPECT_EQ(j["duration_ms"], 1234);
  EXPECT_TRUE(j["signal"].is_null());
}

TEST(JsonBody, MalformedIsBadRequest) {
  auto r = parse_json_body("{\"a\": ");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Error::Kind::kBadRequest);
  EXPECT_TRUE(parse_json_body("{\"a\": 1}"));
}

// The parser's message quotes the input it stopped in, which may be a secret's value.
TEST(JsonBody, ErrorNamesThePositionButNotTheInput) {
  for (const char* body : {"{\"name\":\"db\",\"value\":\"hunter2-very-secret",
                           "{\"name\":\"db\",\"value\":\"pa$$w0rd-line1\nline2\"}"}) {
    auto r = parse_json_body(body);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find("w0rd"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find("json.exception"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("parse error at line "), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace prisn::model
