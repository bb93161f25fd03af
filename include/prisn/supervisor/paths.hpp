// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>

namespace prisn::supervisor {

/// Where things live under the data directory (SPEC §2): state.db, secret.key, admin.token,
/// listen.json, logs/ and runs/.
struct Paths {
  std::filesystem::path data_dir;

  std::filesystem::path state_db() const { return data_dir / "state.db"; }
  std::filesystem::path secret_key() const { return data_dir / "secret.key"; }
  std::filesystem::path admin_token() const { return data_dir / "admin.token"; }
  std::filesystem::path listen_json() const { return data_dir / "listen.json"; }

  /// Working directory of one execution.
  std::filesystem::path execution_dir(const std::string& id) const {
    return data_dir / "runs" / "executions" / id;
  }
  std::filesystem::path execution_log(const std::string& id) const {
    return data_dir / "logs" / "executions" / (id + ".log");
  }
  /// Working directory of a service instance, stable across its restarts.
  std::filesystem::path instance_dir(const std::string& ns, const std::string& instance) const {
    return data_dir / "runs" / "services" / ns / instance;
  }
  std::filesystem::path instance_log(const std::string& ns, const std::string& deployment,
                                     const std::string& instance) const {
    return data_dir / "logs" / "services" / ns / deployment / (instance + ".log");
  }
  std::filesystem::path deployment_logs(const std::string& ns, const std::string& deployment) const {
    return data_dir / "logs" / "services" / ns / deployment;
  }
  /// Where a process's shim records its exit status; `id` is an execution or instance id.
  std::filesystem::path exit_file(const std::string& id) const {
    return data_dir / "runs" / ".exits" / id;
  }
};

}  // namespace prisn::supervisor
