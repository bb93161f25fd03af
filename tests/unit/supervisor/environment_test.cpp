// SPDX-License-Identifier: MIT
#include "prisn/supervisor/environment.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "support/temp_dir.hpp"

namespace prisn::supervisor {
namespace {

bool has(const std::vector<std::string>& env, const std::string& entry) {
  return std::find(env.begin(), env.end(), entry) != env.end();
}

TEST(Environment, LayersWinInSpecOrder) {
  const auto env = build_environment({"PATH=/bin", "X=base", "PORT=1"}, "bash", {{"PORT", "8080"}, {"PRISN_DEPLOYMENT", "api"}},
                                     {{"X", "deployment"}, {"S", "dep"}}, {{"X", "override"}}, {{"S", "secret"}});
  EXPECT_TRUE(has(env, "PATH=/bin"));
  EXPECT_TRUE(has(env, "PORT=8080"));
  EXPECT_TRUE(has(env, "X=override"));
  EXPECT_TRUE(has(env, "S=secret"));
  EXPECT_TRUE(has(env, "PRISN_DEPLOYMENT=api"));
  EXPECT_FALSE(has(env, "PYTHONUNBUFFERED=1"));
}

TEST(Environment, PythonIsUnbufferedUnlessTheDeploymentSaysOtherwise) {
  EXPECT_TRUE(has(build_environment({}, "python3", {}, {}, {}, {}), "PYTHONUNBUFFERED=1"));
  EXPECT_TRUE(has(build_environment({}, "python3", {}, {{"PYTHONUNBUFFERED", ""}}, {}, {}), "PYTHONUNBUFFERED="));
}

TEST(Environment, InheritedDropsPrisnAndSystemdVariables) {
  setenv("PRISN_TOKEN", "secret-token", 1);
  setenv("NOTIFY_SOCKET", "/run/x", 1);
  const auto env = inherited_environment();
  for (const auto& e : env) {
    EXPECT_FALSE(e.starts_with("PRISN_")) << e;
    EXPECT_FALSE(e.starts_with("NOTIFY_SOCKET=")) << e;
  }
  unsetenv("PRISN_TOKEN");
  unsetenv("NOTIFY_SOCKET");
}

TEST(Environment, SecretsResolveByKeyValueOrOnlyKey) {
  test::TempDir dir;
  auto store = store::Store::open(dir / "s.db", dir / "k").value();
  ASSERT_TRUE(store->put_secret("default", "one", {{"value", "v1"}}));
  ASSERT_TRUE(store->put_secret("default", "single", {{"token", "t"}}));
  ASSERT_TRUE(store->put_secret("default", "tls", {{"tls.crt", "C"}, {"tls.key", "K"}}));
  auto ok = resolve_secrets(*store, "default", {{"one", "", "A"}, {"single", "", "B"}, {"tls", "tls.key", "C"}});
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->at("A"), "v1");
  EXPECT_EQ(ok->at("B"), "t");
  EXPECT_EQ(ok->at("C"), "K");
  auto ambiguous = resolve_secrets(*store, "default", {{"tls", "", "X"}});
  ASSERT_FALSE(ambiguous);
  EXPECT_NE(ambiguous.error().message.find("several keys"), std::string::npos);
  auto missing = resolve_secrets(*store, "default", {{"nope", "", "X"}});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message.find("v1"), std::string::npos);
  EXPECT_FALSE(resolve_secrets(*store, "default", {{"tls", "nokey", "X"}}));
}

TEST(Environment, ASecretWithANulByteIsRefusedNotCutShort) {
  test::TempDir dir;
  auto store = store::Store::open(dir / "s.db", dir / "k").value();
  ASSERT_TRUE(store->put_secret("default", "bin", {{"value", std::string("ab\0cd", 5)}}));
  auto refused = resolve_secrets(*store, "default", {{"bin", "", "X"}});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "secret 'bin' key 'value' holds a NUL byte, which an environment variable cannot carry");
}

}  // namespace
}  // namespace prisn::supervisor
