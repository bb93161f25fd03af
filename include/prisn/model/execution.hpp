// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "prisn/core/duration.hpp"
#include "prisn/core/error.hpp"
#include "prisn/core/time.hpp"
#include "prisn/model/json.hpp"

namespace prisn::model {

enum class ExecStatus { kPending, kRunning, kCompleted, kFailed };
const char* to_string(ExecStatus s);
std::optional<ExecStatus> parse_exec_status(std::string_view s);

/// A process prisn started, identified so that a restarted prisnd can re-adopt it only if it
/// is the very same process: pid plus start time (clock ticks since boot, /proc/PID/stat).
struct ProcessRef {
  int pid = 0;                    ///< the workload
  std::uint64_t start_ticks = 0;
  int shim_pid = 0;               ///< prisn's exit-status recorder, parent of the workload
  std::uint64_t shim_start_ticks = 0;
  bool operator==(const ProcessRef&) const = default;
};

/// One run of code (SPEC §3): `prisn run`, a job trigger or a cron tick.
struct Execution {
  std::string id;
  std::string ns = "default";
  std::string deployment;  ///< empty for runs from source
  ExecStatus status = ExecStatus::kPending;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::string error;
  std::string trigger = "api";  ///< api | cli | cron
  WallTime created_at{};
  std::optional<WallTime> started_at;
  std::optional<WallTime> completed_at;
  bool timed_out = false;
  int attempts = 1;  ///< process starts: more than 1 when restartPolicy on-failure retried it

  // What runs (copied from the deployment at trigger time, or given with the request).
  std::string runtime;
  std::string filename;
  std::string source;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::optional<Millis> timeout;

  ProcessRef process;

  bool terminal() const { return status == ExecStatus::kCompleted || status == ExecStatus::kFailed; }
};

/// The execution as the API shows it (SPEC §3).
Json encode_execution(const Execution& e);

/// POST /api/v1/executions body: either a deployment to trigger or code to run.
struct ExecutionRequest {
  std::string deployment_id;  ///< set: trigger this deployment
  std::string ns;
  std::map<std::string, std::string> env;  ///< merged over the deployment's env
  std::string trigger = "api";
  // From source:
  std::string source;
  std::string runtime;
  std::string filename;
  std::vector<std::string> args;
  std::optional<Millis> timeout;
};

/// Validates the body; `query_ns` is ?namespace= (empty when absent). Never throws.
Result<ExecutionRequest> decode_execution_request(const Json& body, const std::string& query_ns);

}  // namespace prisn::model
