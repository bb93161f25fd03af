// SPDX-License-Identifier: MIT
// The database schema as an ordered list of migrations. PRAGMA user_version holds how many
// have been applied; a new version appends a migration and never edits an old one.
#pragma once

#include <array>
#include <string_view>

namespace prisn::store::detail {

inline constexpr std::array<std::string_view, 4> kMigrations = {
    R"sql(
CREATE TABLE deployments (
  namespace     TEXT NOT NULL,
  name          TEXT NOT NULL,
  spec          TEXT NOT NULL,
  source        TEXT NOT NULL,
  generation    INTEGER NOT NULL,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  last_run      INTEGER,
  skipped_ticks INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (namespace, name)
) WITHOUT ROWID;

CREATE TABLE executions (
  id           TEXT PRIMARY KEY,
  namespace    TEXT NOT NULL,
  deployment   TEXT NOT NULL,
  status       TEXT NOT NULL,
  exit_code    INTEGER,
  signal       INTEGER,
  error        TEXT NOT NULL,
  trigger      TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  started_at   INTEGER,
  completed_at INTEGER,
  timed_out    INTEGER NOT NULL,
  runtime      TEXT NOT NULL,
  filename     TEXT NOT NULL,
  source       TEXT NOT NULL,
  args         TEXT NOT NULL,
  env          TEXT NOT NULL,
  timeout_ms   INTEGER,
  pid          INTEGER NOT NULL,
  pid_start    INTEGER NOT NULL,
  shim_pid     INTEGER NOT NULL,
  shim_start   INTEGER NOT NULL
);
CREATE INDEX executions_by_time ON executions (created_at DESC);
CREATE INDEX executions_by_deployment ON executions (namespace, deployment, created_at DESC);
CREATE INDEX executions_unfinished ON executions (status) WHERE status IN ('Pending', 'Running');

CREATE TABLE secrets (
  namespace  TEXT NOT NULL,
  name       TEXT NOT NULL,
  keys       TEXT NOT NULL,
  sealed     BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, name)
) WITHOUT ROWID;

CREATE TABLE instances (
  id         TEXT PRIMARY KEY,
  namespace  TEXT NOT NULL,
  deployment TEXT NOT NULL,
  idx        INTEGER NOT NULL,
  generation INTEGER NOT NULL,
  ports      TEXT NOT NULL,
  pid        INTEGER NOT NULL,
  pid_start  INTEGER NOT NULL,
  shim_pid   INTEGER NOT NULL,
  shim_start INTEGER NOT NULL,
  cgroup     TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  restarts   INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    // 2: ingresses and network policies, kept as their normalised JSON.
    R"sql(
CREATE TABLE resources (
  kind       TEXT NOT NULL,
  namespace  TEXT NOT NULL,
  name       TEXT NOT NULL,
  spec       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (kind, namespace, name)
) WITHOUT ROWID;
)sql",
    // 3: how many times an execution's process was started (restartPolicy on-failure retries).
    R"sql(
ALTER TABLE executions ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
)sql",
    // 4: each service instance slot's restart history, so a restarted prisnd keeps its counts,
    // back-off and the restart policy's "not again".
    R"sql(
CREATE TABLE slots (
  namespace       TEXT NOT NULL,
  deployment      TEXT NOT NULL,
  idx             INTEGER NOT NULL,
  generation      INTEGER NOT NULL,
  restarts        INTEGER NOT NULL,
  backoff_level   INTEGER NOT NULL,
  restart_due     INTEGER NOT NULL,
  restart_at      INTEGER,
  exited_for_good INTEGER NOT NULL,
  last_exit       TEXT NOT NULL,
  PRIMARY KEY (namespace, deployment, idx)
) WITHOUT ROWID;
)sql",
};

}  // namespace prisn::store::detail
