// SPDX-License-Identifier: MIT
#include "prisn/model/execution.hpp"

#include <fmt/format.h>

#include "prisn/core/names.hpp"
#include "prisn/model/document.hpp"
#include "prisn/model/deployment_json.hpp"
#include "prisn/model/runtime.hpp"

namespace prisn::model {

const char* to_string(ExecStatus s) {
  switch (s) {
    case ExecStatus::kPending: return "Pending";
    case ExecStatus::kRunning: return "Running";
    case ExecStatus::kCompleted: return "Completed";
    case ExecStatus::kFailed: return "Failed";
  }
  return "Pending";
}

std::optional<ExecStatus> parse_exec_status(std::string_view s) {
  for (auto st : {ExecStatus::kPending, ExecStatus::kRunning, ExecStatus::kCompleted, ExecStatus::kFailed}) {
    if (s == to_string(st)) {
      return st;
    }
  }
  return std::nullopt;
}

Json encode_execution(const Execution& e) {
  auto time_or_null = [](const std::optional<WallTime>& t) { return t ? Json(to_rfc3339(*t)) : Json(nullptr); };
  Json out = {
      {"id", e.id},
      {"deployment_id", e.deployment.empty() ? Json(nullptr) : Json(e.deployment)},
      {"namespace", e.ns},
      {"status", to_string(e.status)},
      {"exit_code", e.exit_code ? Json(*e.exit_code) : Json(nullptr)},
      {"signal", e.signal ? Json(*e.signal) : Json(nullptr)},
      {"error", e.error},
      {"trigger", e.trigger},
      {"runtime", e.runtime},
      {"created_at", to_rfc3339(e.created_at)},
      {"started_at", time_or_null(e.started_at)},
      {"completed_at", time_or_null(e.completed_at)},
      {"timed_out", e.timed_out},
      {"attempts", e.attempts},
  };
  if (e.started_at) {
    const WallTime end = e.completed_at.value_or(WallClock::now());
    out["duration_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(end - *e.started_at).count();
  } else {
    out["duration_ms"] = nullptr;
  }
  if (e.process.pid != 0 && !e.terminal()) {
    out["pid"] = e.process.pid;
  }
  return out;
}

Result<ExecutionRequest> decode_execution_request(const Json& body, const std::string& query_ns) {
  if (!body.is_object()) {
    return Error::invalid("body: must be a JSON object");
  }
  ObjectReader r(body, "");
  ExecutionRequest req;
  auto dep = r.string("deployment_id");
  if (!dep) return dep.error();
  if (dep->empty()) {
    auto alt = r.string("deployment");
    if (!alt) return alt.error();
    dep = *alt;
  }
  req.deployment_id = *dep;
  auto ns = r.string("namespace");
  if (!ns) return ns.error();
  auto resolved = request_namespace(*ns, query_ns);
  if (!resolved) return resolved.error();
  req.ns = std::move(*resolved);
  auto env = decode_env(r.get("env"), "env");
  if (!env) return env.error();
  req.env = *env;
  if (auto ok = check_exec_sizes({}, req.env); !ok) return ok.error();
  auto trigger = r.string("trigger", "api");
  if (!trigger) return trigger.error();
  if (*trigger != "api" && *trigger != "cli" && *trigger != "cron") {
    return Error::invalid("trigger: must be api, cli or cron");
  }
  req.trigger = *trigger;
  if (!req.deployment_id.empty()) {
    if (auto ok = validate_name("deployment_id", req.deployment_id); !ok) return ok.error();
    if (r.has("source")) return Error::invalid("source: give either deployment_id or source, not both");
    if (auto done = r.finish(); !done) return done.error();
    return req;
  }
  if (!r.has("source")) {
    return Error::invalid("deployment_id: required (or give source to run code directly)");
  }
  auto source = r.string("source");
  if (!source) return source.error();
  req.source = *source;
  auto filename = r.string("filename");
  if (!filename) return filename.error();
  if (filename->find('/') != std::string::npos || *filename == "." || *filename == ".." || filename->size() > 255) {
    return Error::invalid("filename: must be a plain file name without '/'");
  }
  req.filename = *filename;
  auto runtime = r.string("runtime");
  if (!runtime) return runtime.error();
  if (runtime->empty()) {
    auto detected = detect_runtime(req.filename, req.source);
    if (!detected) {
      return Error::invalid(undetected_runtime(req.source));
    }
    req.runtime = *detected;
  } else {
    req.runtime = *runtime == "python" ? "python3" : *runtime;
    if (!is_known_runtime(req.runtime)) {
      return Error::invalid(fmt::format("runtime: unknown runtime '{}' (known: python3, bash, sh, node, "
                                        "ruby, perl, php)", runtime->substr(0, 40)));
    }
  }
  auto args = decode_args(r.get("args"), "args", 1024);
  if (!args) return args.error();
  req.args = std::move(*args);
  if (auto ok = check_exec_sizes(req.args, req.env); !ok) return ok.error();
  if (const Json* t = r.get("timeout")) {
    auto d = duration_value(*t);
    if (!d) return Error::invalid("timeout: " + d.error().message);
    if (d->count() > 0) req.timeout = *d;
  }
  if (auto done = r.finish(); !done) return done.error();
  return req;
}

}  // namespace prisn::model
