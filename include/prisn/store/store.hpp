// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "prisn/core/error.hpp"
#include "prisn/core/time.hpp"
#include "prisn/model/deployment.hpp"
#include "prisn/model/execution.hpp"
#include "prisn/model/json.hpp"
#include "prisn/model/secret.hpp"

namespace prisn::store {

/// A deployment as stored: the spec plus what prisn tracks about it.
struct DeploymentRecord {
  model::DeploymentSpec spec;
  std::int64_t generation = 1;  ///< bumped whenever a change needs the instances replaced
  WallTime created_at{};
  WallTime updated_at{};
  std::optional<WallTime> last_run;  ///< cron: the last tick that started a run
  std::int64_t skipped_ticks = 0;    ///< cron: ticks skipped because a run was still going
};

/// A running service instance, persisted so a restarted prisnd can re-adopt it.
struct InstanceRecord {
  std::string id;  ///< unique per incarnation ("in-…")
  std::string ns;
  std::string deployment;
  int index = 0;  ///< NAME-index
  std::int64_t generation = 0;
  std::vector<std::uint16_t> ports;  ///< the instance's own port per named port, in spec order
  model::ProcessRef process;
  std::string cgroup;  ///< cgroup directory, empty without cgroups
  WallTime started_at{};
  int restarts = 0;
};

/// One service instance slot's restart history (NAME-index, whatever process holds it now).
struct SlotRecord {
  std::string ns;
  std::string deployment;
  int index = 0;
  std::int64_t generation = 0;  ///< of the spec the history counts for
  int restarts = 0;
  int backoff_level = 0;
  bool restart_due = false;              ///< its process ended; the next start is a restart
  std::optional<WallTime> restart_at;    ///< backing off until then
  bool exited_for_good = false;          ///< its restart policy said no
  std::string last_exit;
};

/// An ingress or a network policy: its normalised JSON, decoded by whoever uses it.
struct ResourceRecord {
  std::string kind;  ///< "Ingress" | "NetworkPolicy"
  std::string ns;
  std::string name;
  model::Json spec;
  WallTime created_at{};
  WallTime updated_at{};
};

struct ExecutionQuery {
  std::string ns;          ///< empty = every namespace
  std::string deployment;  ///< empty = any
  std::optional<model::ExecStatus> status;
  std::size_t limit = 100;
};

/// prisn's state: SQLite (WAL, synchronous=FULL, schema migrations) behind an in-memory cache
/// of deployments, secret metadata and instances. A write returns only after SQLite has
/// committed it to disk, so an API answer never acknowledges a write a crash could lose.
/// Execution history is read from SQLite (indexed), not cached: it can hold 100,000 rows.
///
/// Thread: every call on the control thread; the store owns its connection.
class Store {
 public:
  /// Opens (creating and migrating) `db_file`; secrets are sealed with the key in `key_file`.
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& db_file,
                                             const std::filesystem::path& key_file);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Deployments (cached).
  const DeploymentRecord* find_deployment(const std::string& ns, const std::string& name) const;
  /// Sorted by namespace then name; `ns` empty = all namespaces.
  std::vector<const DeploymentRecord*> list_deployments(const std::string& ns) const;
  Result<void> put_deployment(const DeploymentRecord& record);
  Result<void> delete_deployment(const std::string& ns, const std::string& name);

  // Ingresses and network policies (cached).
  const ResourceRecord* find_resource(const std::string& kind, const std::string& ns, const std::string& name) const;
  /// Sorted by namespace then name; `ns` empty = all namespaces.
  std::vector<const ResourceRecord*> list_resources(const std::string& kind, const std::string& ns) const;
  Result<void> put_resource(const ResourceRecord& record);
  Result<void> delete_resource(const std::string& kind, const std::string& ns, const std::string& name);

  // Secrets: metadata cached; values decrypted only when a process is started.
  const model::SecretMeta* find_secret(const std::string& ns, const std::string& name) const;
  std::vector<const model::SecretMeta*> list_secrets(const std::string& ns) const;
  Result<model::SecretMeta> put_secret(const std::string& ns, const std::string& name,
                                       const std::map<std::string, std::string>& data);
  /// A key derived from secret.key for `purpose` (SecretBox::derive_key): stable across restarts.
  std::string derived_key(std::string_view purpose) const;
  Result<std::map<std::string, std::string>> secret_values(const std::string& ns,
                                                           const std::string& name) const;
  Result<void> delete_secret(const std::string& ns, const std::string& name);

  // Executions.
  Result<void> put_execution(const model::Execution& e);
  Result<std::optional<model::Execution>> get_execution(const std::string& id) const;
  /// Newest first by created_at.
  Result<std::vector<model::Execution>> list_executions(const ExecutionQuery& q) const;
  Result<std::vector<model::Execution>> unfinished_executions() const;
  /// Deletes the oldest terminal executions of one deployment beyond `keep`; returns their ids.
  Result<std::vector<std::string>> prune_executions(const std::string& ns, const std::string& deployment,
                                                    std::size_t keep);
  Result<std::int64_t> count_executions() const;

  // Instances.
  Result<void> put_instance(const InstanceRecord& r);
  Result<void> delete_instance(const std::string& id);
  Result<std::vector<InstanceRecord>> load_instances() const;

  // Instance slots.
  Result<void> put_slot(const SlotRecord& r);
  /// Deletes the slots of a deployment from `from_index` on (0: all of them).
  Result<void> delete_slots(const std::string& ns, const std::string& deployment, int from_index = 0);
  Result<std::vector<SlotRecord>> load_slots() const;

  /// Several writes as one transaction (one fsync): used for bulk loads and benchmarks.
  Result<void> begin();
  Result<void> commit();

  struct Impl;  ///< opaque: SQLite lives only in src/store

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace prisn::store
