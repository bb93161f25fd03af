// SPDX-License-Identifier: MIT
#include "prisn/store/store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <fstream>

#include "prisn/model/deployment_json.hpp"
#include "store/schema.hpp"
#include "support/temp_dir.hpp"

namespace prisn::store {
namespace {

using model::Json;

std::unique_ptr<Store> open_store(const test::TempDir& dir) {
  auto s = Store::open(dir / "state.db", dir / "secret.key");
  EXPECT_TRUE(s) << (s ? "" : s.error().message);
  return s ? std::move(*s) : nullptr;
}

DeploymentRecord api_record() {
  auto spec = model::decode_deployment(
      Json::parse(R"j({"name":"api","source":"print(1)","filename":"api.py","port":8080,"replicas":3})j"), {});
  DeploymentRecord rec;
  rec.spec = *spec;
  rec.generation = 4;
  rec.created_at = from_epoch_ms(1'000'000);
  rec.updated_at = from_epoch_ms(2'000'000);
  return rec;
}

model::Execution execution(const std::string& id, const std::string& dep, std::int64_t created_ms,
                           model::ExecStatus status) {
  model::Execution e;
  e.id = id;
  e.deployment = dep;
  e.status = status;
  e.created_at = from_epoch_ms(created_ms);
  e.runtime = "python3";
  e.args = {"a"};
  e.env = {{"K", "V"}};
  e.process = {10, 20, 30, 40};
  return e;
}

TEST(Store, DeploymentsSurviveReopen) {
  test::TempDir dir;
  {
    auto store = open_store(dir);
    ASSERT_TRUE(store->put_deployment(api_record()));
    EXPECT_NE(store->find_deployment("default", "api"), nullptr);
  }
  auto store = open_store(dir);
  const auto* rec = store->find_deployment("default", "api");
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->spec, api_record().spec);
  EXPECT_EQ(rec->generation, 4);
  EXPECT_EQ(store->list_deployments("").size(), 1U);
  EXPECT_EQ(store->list_deployments("other").size(), 0U);
  ASSERT_TRUE(store->delete_deployment("default", "api"));
  EXPECT_EQ(store->find_deployment("default", "api"), nullptr);
}

TEST(Store, ResourcesSurviveReopenAndAreKeptApartByKind) {
  test::TempDir dir;
  {
    auto store = open_store(dir);
    ResourceRecord ing{"Ingress", "default", "web", Json{{"name", "web"}, {"rules", Json::array()}},
                       from_epoch_ms(1000), from_epoch_ms(2000)};
    ASSERT_TRUE(store->put_resource(ing));
    ResourceRecord pol{"NetworkPolicy", "default", "web", Json{{"name", "web"}, {"target", "db"}},
                       from_epoch_ms(1000), from_epoch_ms(1000)};
    ASSERT_TRUE(store->put_resource(pol));
  }
  auto store = open_store(dir);
  ASSERT_NE(store->find_resource("Ingress", "default", "web"), nullptr);
  EXPECT_EQ(store->find_resource("Ingress", "default", "web")->updated_at, from_epoch_ms(2000));
  EXPECT_EQ(store->find_resource("NetworkPolicy", "default", "web")->spec["target"], "db");
  EXPECT_EQ(store->list_resources("Ingress", "").size(), 1U);
  EXPECT_EQ(store->list_resources("Ingress", "other").size(), 0U);
  ASSERT_TRUE(store->delete_resource("Ingress", "default", "web"));
  EXPECT_EQ(store->find_resource("Ingress", "default", "web"), nullptr);
  EXPECT_NE(store->find_resource("NetworkPolicy", "default", "web"), nullptr);
}

TEST(Store, UsesWalAndFullSync) {
  test::TempDir dir;
  auto store = open_store(dir);
  ASSERT_TRUE(store->put_deployment(api_record()));
  EXPECT_TRUE(std::filesystem::exists(dir / "state.db-wal"));
}

TEST(Store, SecretsAreSealedAndKeyFileIsPrivate) {
  test::TempDir dir;
  auto store = open_store(dir);
  auto meta = store->put_secret("default", "db-password", {{"value", "supersecret"}});
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->keys, std::vector<std::string>{"value"});
  EXPECT_EQ(store->secret_values("default", "db-password").value().at("value"), "supersecret");
  const std::string binary("\0\xff\x80 bytes", 10);
  ASSERT_TRUE(store->put_secret("default", "blob", {{"data", binary}}));
  EXPECT_EQ(store->secret_values("default", "blob").value().at("data"), binary);
  struct stat st{};
  ASSERT_EQ(::stat((dir / "secret.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  EXPECT_EQ(st.st_size, 32);
  ASSERT_EQ(::stat((dir / "state.db").c_str(), &st), 0);  // deployments' env and scripts are in it
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  // The plaintext never reaches the database file.
  store.reset();
  std::string db;
  for (const char* f : {"state.db", "state.db-wal"}) {
    std::ifstream in(dir / f, std::ios::binary);
    db.append(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_EQ(db.find("supersecret"), std::string::npos);
}

TEST(Store, DerivedKeysLastAcrossRestartsAndDifferByPurpose) {
  test::TempDir dir;
  std::string cookie_key;
  {
    auto store = open_store(dir);
    cookie_key = store->derived_key("affinity-cookie");
    EXPECT_EQ(cookie_key.size(), 32U);
    EXPECT_NE(cookie_key, store->derived_key("something-else"));
  }
  EXPECT_EQ(open_store(dir)->derived_key("affinity-cookie"), cookie_key);
  test::TempDir elsewhere;
  EXPECT_NE(open_store(elsewhere)->derived_key("affinity-cookie"), cookie_key);
}

TEST(Store, AMissingKeyWithSealedSecretsIsAnErrorNotANewKey) {
  test::TempDir dir;
  {
    auto store = open_store(dir);
    ASSERT_TRUE(store->put_secret("default", "s", {{"value", "v"}}));
  }
  std::filesystem::remove(dir / "secret.key");
  auto reopened = Store::open(dir / "state.db", dir / "secret.key");
  ASSERT_FALSE(reopened);
  EXPECT_NE(reopened.error().message.find("holds 1 secret(s) sealed with it: restore the key file"), std::string::npos)
      << reopened.error().message;
  EXPECT_FALSE(std::filesystem::exists(dir / "secret.key"));  // the place to restore it to is left free
  // Without secrets a missing key is made afresh, as at first start.
  test::TempDir fresh;
  EXPECT_TRUE(open_store(fresh));
  std::filesystem::remove(fresh / "secret.key");
  EXPECT_TRUE(open_store(fresh));
}

TEST(Store, TamperedCiphertextFailsToOpen) {
  test::TempDir dir;
  {
    auto store = open_store(dir);
    ASSERT_TRUE(store->put_secret("default", "s", {{"value", "v"}}));
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "state.db").c_str(), &db), SQLITE_OK);
  // Flip the first ciphertext byte (byte 13, after the 12-byte nonce) to a different value.
  ASSERT_EQ(sqlite3_exec(db, "UPDATE secrets SET sealed = CAST(substr(sealed,1,12) || CASE WHEN "
                             "substr(sealed,13,1) = X'00' THEN X'01' ELSE X'00' END || "
                             "substr(sealed,14) AS BLOB)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = open_store(dir);
  auto values = store->secret_values("default", "s");
  ASSERT_FALSE(values);
  EXPECT_NE(values.error().message.find("authentication"), std::string::npos);
}

TEST(Store, ExecutionsNewestFirstWithFilters) {
  test::TempDir dir;
  auto store = open_store(dir);
  ASSERT_TRUE(store->put_execution(execution("ex-1", "job", 1000, model::ExecStatus::kCompleted)));
  ASSERT_TRUE(store->put_execution(execution("ex-2", "job", 3000, model::ExecStatus::kFailed)));
  ASSERT_TRUE(store->put_execution(execution("ex-3", "other", 2000, model::ExecStatus::kRunning)));
  auto all = store->list_executions({}).value();
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0].id, "ex-2");
  EXPECT_EQ(all[1].id, "ex-3");
  EXPECT_EQ(store->list_executions({"", "job", std::nullopt, 100}).value().size(), 2U);
  EXPECT_EQ(store->list_executions({"", "", model::ExecStatus::kRunning, 100}).value().size(), 1U);
  EXPECT_EQ(store->list_executions({"", "", std::nullopt, 1}).value().size(), 1U);
  auto one = store->get_execution("ex-3").value();
  ASSERT_TRUE(one);
  EXPECT_EQ(one->env.at("K"), "V");
  EXPECT_EQ(one->process.shim_start_ticks, 40U);
  EXPECT_FALSE(store->get_execution("nope").value());
  EXPECT_EQ(store->unfinished_executions().value().size(), 1U);
}

TEST(Store, ExecutionAttemptsRoundTrip) {
  test::TempDir dir;
  auto store = open_store(dir);
  auto e = execution("ex-1", "job", 1000, model::ExecStatus::kRunning);
  e.attempts = 3;
  ASSERT_TRUE(store->put_execution(e));
  EXPECT_EQ(store->get_execution("ex-1").value()->attempts, 3);
}

TEST(Store, ExecutionsFromBeforeAttemptsReadAsOneAttempt) {
  test::TempDir dir;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "state.db").c_str(), &db), SQLITE_OK);
  for (std::size_t v = 0; v < 2; ++v) {  // the schema as a prisnd of version 2 left it
    ASSERT_EQ(sqlite3_exec(db, std::string(detail::kMigrations[v]).c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  }
  ASSERT_EQ(sqlite3_exec(db,
                         "PRAGMA user_version=2; INSERT INTO executions VALUES ('ex-old', 'default', 'job', "
                         "'Completed', 0, NULL, '', 'api', 1000, 1000, 2000, 0, 'bash', 'a.sh', 'true', '[]', "
                         "'{}', NULL, 0, 0, 0, 0)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = open_store(dir);
  auto old = store->get_execution("ex-old").value();
  ASSERT_TRUE(old);
  EXPECT_EQ(old->attempts, 1);
  EXPECT_EQ(old->status, model::ExecStatus::kCompleted);
}

TEST(Store, PruneKeepsNewestTerminalExecutions) {
  test::TempDir dir;
  auto store = open_store(dir);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store->put_execution(execution("ex-" + std::to_string(i), "job", 1000 + i, model::ExecStatus::kCompleted)));
  }
  ASSERT_TRUE(store->put_execution(execution("ex-run", "job", 500, model::ExecStatus::kRunning)));
  auto removed = store->prune_executions("default", "job", 2).value();
  EXPECT_EQ(removed, (std::vector<std::string>{"ex-2", "ex-1", "ex-0"}));
  EXPECT_EQ(store->count_executions().value(), 3);
}

TEST(Store, InstancesRoundTrip) {
  test::TempDir dir;
  auto store = open_store(dir);
  InstanceRecord r{"in-1", "default", "api", 2, 7, {41000, 41001}, {100, 200, 99, 199}, "/sys/fs/cgroup/x", from_epoch_ms(5000), 3};
  ASSERT_TRUE(store->put_instance(r));
  auto loaded = store->load_instances().value();
  ASSERT_EQ(loaded.size(), 1U);
  EXPECT_EQ(loaded[0].ports, r.ports);
  EXPECT_EQ(loaded[0].process, r.process);
  EXPECT_EQ(loaded[0].restarts, 3);
  ASSERT_TRUE(store->delete_instance("in-1"));
  EXPECT_TRUE(store->load_instances().value().empty());
}

TEST(Store, SlotsRoundTripAndGoWithTheirDeployment) {
  test::TempDir dir;
  {
    auto store = open_store(dir);
    ASSERT_TRUE(store->put_slot({"default", "api", 0, 3, 5, 4, true, from_epoch_ms(90'000), false, "api-0 exited"}));
    ASSERT_TRUE(store->put_slot({"default", "api", 1, 3, 0, 0, false, std::nullopt, true, "api-1 exited"}));
    ASSERT_TRUE(store->put_slot({"default", "api", 2, 3, 1, 1, false, std::nullopt, false, ""}));
    ASSERT_TRUE(store->put_slot({"default", "other", 0, 1, 2, 2, false, std::nullopt, false, ""}));
    ASSERT_TRUE(store->delete_slots("default", "api", 2));  // scaled down to two
  }
  auto store = open_store(dir);  // they survive a reopen
  auto loaded = store->load_slots().value();
  ASSERT_EQ(loaded.size(), 3U);
  const auto& first = loaded[0];
  EXPECT_EQ(first.deployment, "api");
  EXPECT_EQ(first.index, 0);
  EXPECT_EQ(first.generation, 3);
  EXPECT_EQ(first.restarts, 5);
  EXPECT_EQ(first.backoff_level, 4);
  EXPECT_TRUE(first.restart_due);
  EXPECT_EQ(first.restart_at, from_epoch_ms(90'000));
  EXPECT_TRUE(loaded[1].exited_for_good);
  EXPECT_FALSE(loaded[1].restart_at);
  EXPECT_EQ(loaded[1].last_exit, "api-1 exited");
  ASSERT_TRUE(store->delete_deployment("default", "api"));  // its slots go with it
  loaded = store->load_slots().value();
  ASSERT_EQ(loaded.size(), 1U);
  EXPECT_EQ(loaded[0].deployment, "other");
}

}  // namespace
}  // namespace prisn::store
