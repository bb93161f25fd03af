// SPDX-License-Identifier: MIT
#include "prisn/store/store.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <tuple>

#include "prisn/core/base64.hpp"
#include "prisn/core/files.hpp"
#include "prisn/core/log.hpp"
#include "prisn/model/deployment_json.hpp"
#include "prisn/store/secret_box.hpp"
#include "store/schema.hpp"
#include "store/sqlite.hpp"

namespace prisn::store {

using detail::Statement;
using model::Json;
using Key = std::pair<std::string, std::string>;

struct Store::Impl {
  sqlite3* db = nullptr;
  SecretBox box = SecretBox::from_key({});
  std::map<Key, DeploymentRecord> deployments;
  std::map<Key, model::SecretMeta> secrets;
  std::map<std::tuple<std::string, std::string, std::string>, ResourceRecord> resources;
  std::shared_ptr<spdlog::logger> log = logger("store");

  Statement put_deployment, delete_deployment, put_execution, get_execution, put_secret,
      get_secret, delete_secret, put_instance, delete_instance, put_resource, delete_resource, put_slot, delete_slots;

  ~Impl() { sqlite3_close_v2(db); }

  Result<void> exec(std::string_view sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, std::string(sql).c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      return Error::internal("database: " + msg);
    }
    return {};
  }

  Result<std::string> pragma_text(const char* sql) {
    Statement st(db, sql);
    auto row = st.step();
    if (!row) return row.error();
    return *row ? st.text(0) : std::string();
  }
};

namespace {

std::string associated_data(const std::string& ns, const std::string& name) {
  return "prisn-secret:" + ns + "/" + name;
}

Result<void> configure(Store::Impl& db) {
  // WAL lets readers proceed during a write; FULL makes every commit durable before we
  // answer (fsync costs ~0.2 ms here, see docs/benchmarks.md).
  auto mode = db.pragma_text("PRAGMA journal_mode=WAL");
  if (!mode) return mode.error();
  if (*mode != "wal") {
    return Error::internal("database: cannot enable WAL journal mode (got '" + *mode + "')");
  }
  for (const char* sql : {"PRAGMA synchronous=FULL", "PRAGMA busy_timeout=5000",
                          "PRAGMA foreign_keys=ON", "PRAGMA cache_size=-2000"}) {
    if (auto r = db.exec(sql); !r) return r;
  }
  auto sync = db.pragma_text("PRAGMA synchronous");
  if (!sync || *sync != "2") {
    return Error::internal("database: synchronous=FULL did not take effect");
  }
  return {};
}

Result<void> migrate(Store::Impl& db) {
  auto version_text = db.pragma_text("PRAGMA user_version");
  if (!version_text) return version_text.error();
  const std::size_t version = std::stoul(version_text->empty() ? "0" : *version_text);
  if (version > detail::kMigrations.size()) {
    return Error::internal(fmt::format(
        "database schema version {} is newer than this prisnd understands ({})", version,
        detail::kMigrations.size()));
  }
  for (std::size_t v = version; v < detail::kMigrations.size(); ++v) {
    if (auto r = db.exec("BEGIN IMMEDIATE"); !r) return r;
    auto applied = db.exec(detail::kMigrations[v]);
    if (applied) applied = db.exec(fmt::format("PRAGMA user_version={}", v + 1));
    if (!applied) {
      (void)db.exec("ROLLBACK");
      return applied;
    }
    if (auto r = db.exec("COMMIT"); !r) return r;
    db.log->info("database schema migrated to version {}", v + 1);
  }
  return {};
}

model::Execution execution_from_row(const Statement& st) {
  model::Execution e;
  e.id = st.text(0);
  e.ns = st.text(1);
  e.deployment = st.text(2);
  e.status = model::parse_exec_status(st.text(3)).value_or(model::ExecStatus::kFailed);
  if (auto v = st.optional_integer(4)) e.exit_code = static_cast<int>(*v);
  if (auto v = st.optional_integer(5)) e.signal = static_cast<int>(*v);
  e.error = st.text(6);
  e.trigger = st.text(7);
  e.created_at = from_epoch_ms(st.integer(8));
  if (auto v = st.optional_integer(9)) e.started_at = from_epoch_ms(*v);
  if (auto v = st.optional_integer(10)) e.completed_at = from_epoch_ms(*v);
  e.timed_out = st.integer(11) != 0;
  e.runtime = st.text(12);
  e.filename = st.text(13);
  e.source = st.text(14);
  Json args = Json::parse(st.text(15), nullptr, false);
  if (args.is_array()) e.args = args.get<std::vector<std::string>>();
  Json env = Json::parse(st.text(16), nullptr, false);
  if (env.is_object()) e.env = env.get<std::map<std::string, std::string>>();
  if (auto v = st.optional_integer(17)) e.timeout = Millis(*v);
  e.process = {static_cast<int>(st.integer(18)), static_cast<std::uint64_t>(st.integer(19)),
               static_cast<int>(st.integer(20)), static_cast<std::uint64_t>(st.integer(21))};
  e.attempts = static_cast<int>(st.integer(22));
  return e;
}

constexpr const char* kExecutionColumns =
    "id, namespace, deployment, status, exit_code, signal, error, trigger, created_at, "
    "started_at, completed_at, timed_out, runtime, filename, source, args, env, timeout_ms, "
    "pid, pid_start, shim_pid, shim_start, attempts";

std::optional<std::int64_t> opt_ms(const std::optional<WallTime>& t) {
  if (!t) return std::nullopt;
  return to_epoch_ms(*t);
}

Result<void> load_deployments(Store::Impl& impl) {
  Statement st(impl.db,
               "SELECT namespace, name, spec, source, generation, created_at, updated_at, "
               "last_run, skipped_ticks FROM deployments");
  for (;;) {
    auto row = st.step();
    if (!row) return row.error();
    if (!*row) break;
    Json spec = Json::parse(st.text(2), nullptr, false);
    if (!spec.is_object()) {
      impl.log->error("deployment {}/{}: stored spec is not JSON; skipped", st.text(0), st.text(1));
      continue;
    }
    spec["source"] = st.text(3);
    auto decoded = model::decode_deployment(spec, {.ns = st.text(0), .name_in_path = st.text(1), .stored = true});
    if (!decoded) {
      impl.log->error("deployment {}/{}: stored spec is invalid ({}); skipped", st.text(0),
                      st.text(1), decoded.error().message);
      continue;
    }
    DeploymentRecord rec;
    rec.spec = std::move(*decoded);
    rec.generation = st.integer(4);
    rec.created_at = from_epoch_ms(st.integer(5));
    rec.updated_at = from_epoch_ms(st.integer(6));
    if (auto v = st.optional_integer(7)) rec.last_run = from_epoch_ms(*v);
    rec.skipped_ticks = st.integer(8);
    impl.deployments[{rec.spec.ns, rec.spec.name}] = std::move(rec);
  }
  return {};
}

Result<void> load_secrets(Store::Impl& impl) {
  Statement st(impl.db, "SELECT namespace, name, keys, created_at, updated_at FROM secrets");
  for (;;) {
    auto row = st.step();
    if (!row) return row.error();
    if (!*row) break;
    model::SecretMeta meta;
    meta.ns = st.text(0);
    meta.name = st.text(1);
    Json keys = Json::parse(st.text(2), nullptr, false);
    if (keys.is_array()) meta.keys = keys.get<std::vector<std::string>>();
    meta.created_at = from_epoch_ms(st.integer(3));
    meta.updated_at = from_epoch_ms(st.integer(4));
    impl.secrets[{meta.ns, meta.name}] = std::move(meta);
  }
  return {};
}

Result<void> load_resources(Store::Impl& impl) {
  Statement st(impl.db, "SELECT kind, namespace, name, spec, created_at, updated_at FROM resources");
  for (;;) {
    auto row = st.step();
    if (!row) return row.error();
    if (!*row) break;
    ResourceRecord rec{st.text(0), st.text(1), st.text(2), Json::parse(st.text(3), nullptr, false),
                       from_epoch_ms(st.integer(4)), from_epoch_ms(st.integer(5))};
    if (!rec.spec.is_object()) {
      impl.log->error("{} {}/{}: stored spec is not JSON; skipped", rec.kind, rec.ns, rec.name);
      continue;
    }
    impl.resources[{rec.kind, rec.ns, rec.name}] = std::move(rec);
  }
  return {};
}

Result<void> prepare(Store::Impl& impl) {
  impl.put_deployment = Statement(impl.db,
      "INSERT OR REPLACE INTO deployments (namespace, name, spec, source, generation, created_at, "
      "updated_at, last_run, skipped_ticks) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  impl.delete_deployment = Statement(impl.db, "DELETE FROM deployments WHERE namespace = ?1 AND name = ?2");
  impl.put_execution = Statement(impl.db, fmt::format(
      "INSERT OR REPLACE INTO executions ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
      "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)", kExecutionColumns));
  impl.get_execution = Statement(impl.db, fmt::format("SELECT {} FROM executions WHERE id = ?1", kExecutionColumns));
  impl.put_secret = Statement(impl.db,
      "INSERT OR REPLACE INTO secrets (namespace, name, keys, sealed, created_at, updated_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  impl.get_secret = Statement(impl.db, "SELECT sealed FROM secrets WHERE namespace = ?1 AND name = ?2");
  impl.delete_secret = Statement(impl.db, "DELETE FROM secrets WHERE namespace = ?1 AND name = ?2");
  impl.put_instance = Statement(impl.db,
      "INSERT OR REPLACE INTO instances (id, namespace, deployment, idx, generation, ports, pid, "
      "pid_start, shim_pid, shim_start, cgroup, started_at, restarts) VALUES (?1, ?2, ?3, ?4, ?5, "
      "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
  impl.delete_instance = Statement(impl.db, "DELETE FROM instances WHERE id = ?1");
  impl.put_resource = Statement(impl.db,
      "INSERT OR REPLACE INTO resources (kind, namespace, name, spec, created_at, updated_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  impl.delete_resource = Statement(impl.db, "DELETE FROM resources WHERE kind = ?1 AND namespace = ?2 AND name = ?3");
  impl.put_slot = Statement(impl.db,
      "INSERT OR REPLACE INTO slots (namespace, deployment, idx, generation, restarts, backoff_level, restart_due, "
      "restart_at, exited_for_good, last_exit) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  impl.delete_slots = Statement(impl.db, "DELETE FROM slots WHERE namespace = ?1 AND deployment = ?2 AND idx >= ?3");
  for (Statement* st : {&impl.put_deployment, &impl.delete_deployment, &impl.put_execution,
                        &impl.get_execution, &impl.put_secret, &impl.get_secret,
                        &impl.delete_secret, &impl.put_instance, &impl.delete_instance,
                        &impl.put_resource, &impl.delete_resource, &impl.put_slot, &impl.delete_slots}) {
    if (!st->valid()) {
      return detail::sqlite_error(impl.db, "database: cannot prepare statement");
    }
  }
  return {};
}

}  // namespace

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& db_file,
                                           const std::filesystem::path& key_file) {
  if (auto dirs = make_dirs(db_file.parent_path(), 0700); !dirs) {
    return dirs.error();
  }
  auto impl = std::make_unique<Impl>();
  std::error_code ec;
  const bool key_was_there = std::filesystem::exists(key_file, ec) || ec;
  auto box = SecretBox::load_or_create(key_file);
  if (!box) {
    return box.error();
  }
  impl->box = *box;
  if (sqlite3_open_v2(db_file.c_str(), &impl->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return detail::sqlite_error(impl->db, "cannot open " + db_file.string());
  }
  // It holds deployments' env and scripts: private, as the data dir prisnd makes is, also in a
  // directory that was there before. SQLite gives its -wal and -shm files the same mode.
  for (const char* suffix : {"", "-wal", "-shm"}) ::chmod((db_file.string() + suffix).c_str(), 0600);
  for (auto step : {configure, migrate, prepare, load_deployments, load_secrets, load_resources}) {
    if (auto r = step(*impl); !r) {
      return Error::internal(db_file.string() + ": " + r.error().message);
    }
  }
  if (!key_was_there && !impl->secrets.empty()) {
    // A lost or unrestored key: a new one would make every stored secret unreadable without a
    // word, and overwrite the place the old one must be restored to.
    std::filesystem::remove(key_file, ec);
    return Error::internal(fmt::format(
        "{} is missing, but {} holds {} secret(s) sealed with it: restore the key file from a backup; if it is "
        "lost for good, delete the secrets (sqlite3 {} 'DELETE FROM secrets') and create them again",
        key_file.string(), db_file.string(), impl->secrets.size(), db_file.string()));
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

const DeploymentRecord* Store::find_deployment(const std::string& ns, const std::string& name) const {
  auto it = impl_->deployments.find({ns, name});
  return it == impl_->deployments.end() ? nullptr : &it->second;
}

std::vector<const DeploymentRecord*> Store::list_deployments(const std::string& ns) const {
  std::vector<const DeploymentRecord*> out;
  for (const auto& [key, rec] : impl_->deployments) {
    if (ns.empty() || key.first == ns) {
      out.push_back(&rec);
    }
  }
  return out;
}

Result<void> Store::put_deployment(const DeploymentRecord& rec) {
  Json spec = model::encode_spec(rec.spec, false);
  auto& st = impl_->put_deployment;
  st.bind(1, rec.spec.ns).bind(2, rec.spec.name).bind(3, spec.dump()).bind(4, rec.spec.source)
      .bind(5, rec.generation).bind(6, to_epoch_ms(rec.created_at)).bind(7, to_epoch_ms(rec.updated_at))
      .bind_optional(8, opt_ms(rec.last_run)).bind(9, rec.skipped_ticks);
  if (auto r = st.run(); !r) return r;
  impl_->deployments[{rec.spec.ns, rec.spec.name}] = rec;
  return {};
}

Result<void> Store::delete_deployment(const std::string& ns, const std::string& name) {
  auto& st = impl_->delete_deployment;
  st.bind(1, ns).bind(2, name);
  if (auto r = st.run(); !r) return r;
  impl_->deployments.erase({ns, name});
  return delete_slots(ns, name);  // a deployment made again under the name starts afresh
}

const ResourceRecord* Store::find_resource(const std::string& kind, const std::string& ns,
                                           const std::string& name) const {
  auto it = impl_->resources.find({kind, ns, name});
  return it == impl_->resources.end() ? nullptr : &it->second;
}

std::vector<const ResourceRecord*> Store::list_resources(const std::string& kind, const std::string& ns) const {
  std::vector<const ResourceRecord*> out;
  for (const auto& [key, rec] : impl_->resources) {
    if (std::get<0>(key) == kind && (ns.empty() || std::get<1>(key) == ns)) out.push_back(&rec);
  }
  return out;
}

Result<void> Store::put_resource(const ResourceRecord& rec) {
  auto& st = impl_->put_resource;
  st.bind(1, rec.kind).bind(2, rec.ns).bind(3, rec.name).bind(4, rec.spec.dump())
      .bind(5, to_epoch_ms(rec.created_at)).bind(6, to_epoch_ms(rec.updated_at));
  if (auto r = st.run(); !r) return r;
  impl_->resources[{rec.kind, rec.ns, rec.name}] = rec;
  return {};
}

Result<void> Store::delete_resource(const std::string& kind, const std::string& ns, const std::string& name) {
  auto& st = impl_->delete_resource;
  st.bind(1, kind).bind(2, ns).bind(3, name);
  if (auto r = st.run(); !r) return r;
  impl_->resources.erase({kind, ns, name});
  return {};
}

const model::SecretMeta* Store::find_secret(const std::string& ns, const std::string& name) const {
  auto it = impl_->secrets.find({ns, name});
  return it == impl_->secrets.end() ? nullptr : &it->second;
}

std::vector<const model::SecretMeta*> Store::list_secrets(const std::string& ns) const {
  std::vector<const model::SecretMeta*> out;
  for (const auto& [key, meta] : impl_->secrets) {
    if (ns.empty() || key.first == ns) {
      out.push_back(&meta);
    }
  }
  return out;
}

Result<model::SecretMeta> Store::put_secret(const std::string& ns, const std::string& name,
                                            const std::map<std::string, std::string>& data) {
  // Values are bytes, not necessarily UTF-8: sealed as a JSON object of base64 strings.
  Json plain = Json::object();
  for (const auto& [k, v] : data) plain[k] = base64_encode(v);
  auto sealed = impl_->box.seal(plain.dump(), associated_data(ns, name));
  if (!sealed) return sealed.error();
  model::SecretMeta meta;
  meta.ns = ns;
  meta.name = name;
  for (const auto& [k, v] : data) meta.keys.push_back(k);
  meta.updated_at = WallClock::now();
  const auto* existing = find_secret(ns, name);
  meta.created_at = existing ? existing->created_at : meta.updated_at;
  auto& st = impl_->put_secret;
  st.bind(1, ns).bind(2, name).bind(3, Json(meta.keys).dump()).bind_blob(4, *sealed)
      .bind(5, to_epoch_ms(meta.created_at)).bind(6, to_epoch_ms(meta.updated_at));
  if (auto r = st.run(); !r) return r.error();
  impl_->secrets[{ns, name}] = meta;
  return meta;
}

std::string Store::derived_key(std::string_view purpose) const { return impl_->box.derive_key(purpose); }

Result<std::map<std::string, std::string>> Store::secret_values(const std::string& ns,
                                                                const std::string& name) const {
  auto& st = impl_->get_secret;
  st.bind(1, ns).bind(2, name);
  auto row = st.step();
  if (!row) {
    st.reset();
    return row.error();
  }
  if (!*row) {
    st.reset();
    return Error::not_found(fmt::format("secret '{}' not found in namespace '{}'", name, ns));
  }
  const std::string sealed = st.text(0);
  st.reset();
  auto plain = impl_->box.open(sealed, associated_data(ns, name));
  if (!plain) return plain.error();
  Json parsed = Json::parse(*plain, nullptr, false);
  if (!parsed.is_object()) return Error::internal("stored secret is not a key/value object");
  std::map<std::string, std::string> values;
  for (const auto& [k, v] : parsed.items()) {
    auto bytes = v.is_string() ? base64_decode(v.get<std::string>()) : std::nullopt;
    if (!bytes) return Error::internal("stored secret value is not base64");
    values[k] = std::move(*bytes);
  }
  return values;
}

Result<void> Store::delete_secret(const std::string& ns, const std::string& name) {
  auto& st = impl_->delete_secret;
  st.bind(1, ns).bind(2, name);
  if (auto r = st.run(); !r) return r;
  impl_->secrets.erase({ns, name});
  return {};
}

Result<void> Store::put_execution(const model::Execution& e) {
  auto& st = impl_->put_execution;
  st.bind(1, e.id).bind(2, e.ns).bind(3, e.deployment).bind(4, model::to_string(e.status))
      .bind_optional(5, e.exit_code ? std::optional<std::int64_t>(*e.exit_code) : std::nullopt)
      .bind_optional(6, e.signal ? std::optional<std::int64_t>(*e.signal) : std::nullopt)
      .bind(7, e.error).bind(8, e.trigger).bind(9, to_epoch_ms(e.created_at))
      .bind_optional(10, opt_ms(e.started_at)).bind_optional(11, opt_ms(e.completed_at))
      .bind(12, std::int64_t{e.timed_out}).bind(13, e.runtime).bind(14, e.filename).bind(15, e.source)
      .bind(16, Json(e.args).dump()).bind(17, Json(e.env).dump())
      .bind_optional(18, e.timeout ? std::optional<std::int64_t>(e.timeout->count()) : std::nullopt)
      .bind(19, std::int64_t{e.process.pid}).bind(20, static_cast<std::int64_t>(e.process.start_ticks))
      .bind(21, std::int64_t{e.process.shim_pid}).bind(22, static_cast<std::int64_t>(e.process.shim_start_ticks))
      .bind(23, std::int64_t{e.attempts});
  return st.run();
}

Result<std::optional<model::Execution>> Store::get_execution(const std::string& id) const {
  auto& st = impl_->get_execution;
  st.bind(1, id);
  auto row = st.step();
  std::optional<model::Execution> out;
  if (row && *row) {
    out = execution_from_row(st);
  }
  st.reset();
  if (!row) return row.error();
  return out;
}

Result<std::vector<model::Execution>> Store::list_executions(const ExecutionQuery& q) const {
  std::string sql = fmt::format("SELECT {} FROM executions WHERE 1=1", kExecutionColumns);
  if (!q.ns.empty()) sql += " AND namespace = ?1";
  if (!q.deployment.empty()) sql += " AND deployment = ?2";
  if (q.status) sql += " AND status = ?3";
  sql += " ORDER BY created_at DESC, rowid DESC LIMIT ?4";
  Statement st(impl_->db, sql);
  if (!st.valid()) return detail::sqlite_error(impl_->db, "database");
  if (!q.ns.empty()) st.bind(1, q.ns);
  if (!q.deployment.empty()) st.bind(2, q.deployment);
  if (q.status) st.bind(3, std::string_view(model::to_string(*q.status)));
  st.bind(4, static_cast<std::int64_t>(q.limit));
  std::vector<model::Execution> out;
  for (;;) {
    auto row = st.step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(execution_from_row(st));
  }
  return out;
}

Result<std::vector<model::Execution>> Store::unfinished_executions() const {
  Statement st(impl_->db, fmt::format("SELECT {} FROM executions WHERE status IN ('Pending', "
                                      "'Running') ORDER BY created_at", kExecutionColumns));
  std::vector<model::Execution> out;
  for (;;) {
    auto row = st.step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(execution_from_row(st));
  }
  return out;
}

Result<std::vector<std::string>> Store::prune_executions(const std::string& ns,
                                                         const std::string& deployment,
                                                         std::size_t keep) {
  Statement st(impl_->db,
               "SELECT id FROM executions WHERE namespace = ?1 AND deployment = ?2 AND status IN "
               "('Completed', 'Failed') ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?3");
  st.bind(1, ns).bind(2, deployment).bind(3, static_cast<std::int64_t>(keep));
  std::vector<std::string> ids;
  for (;;) {
    auto row = st.step();
    if (!row) return row.error();
    if (!*row) break;
    ids.push_back(st.text(0));
  }
  if (ids.empty()) return ids;
  if (auto r = begin(); !r) return r.error();
  Statement del(impl_->db, "DELETE FROM executions WHERE id = ?1");
  for (const auto& id : ids) {
    del.bind(1, id);
    if (auto r = del.run(); !r) {
      (void)impl_->exec("ROLLBACK");
      return r.error();
    }
  }
  if (auto r = commit(); !r) return r.error();
  return ids;
}

Result<std::int64_t> Store::count_executions() const {
  Statement st(impl_->db, "SELECT count(*) FROM executions");
  auto row = st.step();
  if (!row) return row.error();
  return st.integer(0);
}

Result<void> Store::put_instance(const InstanceRecord& r) {
  auto& st = impl_->put_instance;
  st.bind(1, r.id).bind(2, r.ns).bind(3, r.deployment).bind(4, std::int64_t{r.index})
      .bind(5, r.generation).bind(6, Json(r.ports).dump()).bind(7, std::int64_t{r.process.pid})
      .bind(8, static_cast<std::int64_t>(r.process.start_ticks)).bind(9, std::int64_t{r.process.shim_pid})
      .bind(10, static_cast<std::int64_t>(r.process.shim_start_ticks)).bind(11, r.cgroup)
      .bind(12, to_epoch_ms(r.started_at)).bind(13, std::int64_t{r.restarts});
  return st.run();
}

Result<void> Store::delete_instance(const std::string& id) {
  auto& st = impl_->delete_instance;
  st.bind(1, id);
  return st.run();
}

Result<std::vector<InstanceRecord>> Store::load_instances() const {
  Statement st(impl_->db,
               "SELECT id, namespace, deployment, idx, generation, ports, pid, pid_start, shim_pid, "
               "shim_start, cgroup, started_at, restarts FROM instances");
  std::vector<InstanceRecord> out;
  for (;;) {
    auto row = st.step();
    if (!row) return row.error();
    if (!*row) break;
    InstanceRecord r;
    r.id = st.text(0);
    r.ns = st.text(1);
    r.deployment = st.text(2);
    r.index = static_cast<int>(st.integer(3));
    r.generation = st.integer(4);
    Json ports = Json::parse(st.text(5), nullptr, false);
    if (ports.is_array()) r.ports = ports.get<std::vector<std::uint16_t>>();
    r.process = {static_cast<int>(st.integer(6)), static_cast<std::uint64_t>(st.integer(7)),
                 static_cast<int>(st.integer(8)), static_cast<std::uint64_t>(st.integer(9))};
    r.cgroup = st.text(10);
    r.started_at = from_epoch_ms(st.integer(11));
    r.restarts = static_cast<int>(st.integer(12));
    out.push_back(std::move(r));
  }
  return out;
}

Result<void> Store::put_slot(const SlotRecord& r) {
  auto& st = impl_->put_slot;
  st.bind(1, r.ns).bind(2, r.deployment).bind(3, std::int64_t{r.index}).bind(4, r.generation)
      .bind(5, std::int64_t{r.restarts}).bind(6, std::int64_t{r.backoff_level}).bind(7, std::int64_t{r.restart_due})
      .bind_optional(8, r.restart_at ? std::optional(to_epoch_ms(*r.restart_at)) : std::nullopt)
      .bind(9, std::int64_t{r.exited_for_good}).bind(10, r.last_exit);
  return st.run();
}

Result<void> Store::delete_slots(const std::string& ns, const std::string& deployment, int from_index) {
  auto& st = impl_->delete_slots;
  st.bind(1, ns).bind(2, deployment).bind(3, std::int64_t{from_index});
  return st.run();
}

Result<std::vector<SlotRecord>> Store::load_slots() const {
  Statement st(impl_->db,
               "SELECT namespace, deployment, idx, generation, restarts, backoff_level, restart_due, restart_at, "
               "exited_for_good, last_exit FROM slots");
  std::vector<SlotRecord> out;
  for (;;) {
    auto row = st.step();
    if (!row) return row.error();
    if (!*row) break;
    SlotRecord r;
    r.ns = st.text(0);
    r.deployment = st.text(1);
    r.index = static_cast<int>(st.integer(2));
    r.generation = st.integer(3);
    r.restarts = static_cast<int>(st.integer(4));
    r.backoff_level = static_cast<int>(st.integer(5));
    r.restart_due = st.integer(6) != 0;
    if (auto at = st.optional_integer(7)) r.restart_at = from_epoch_ms(*at);
    r.exited_for_good = st.integer(8) != 0;
    r.last_exit = st.text(9);
    out.push_back(std::move(r));
  }
  return out;
}

Result<void> Store::begin() { return impl_->exec("BEGIN IMMEDIATE"); }
Result<void> Store::commit() { return impl_->exec("COMMIT"); }

}  // namespace prisn::store
