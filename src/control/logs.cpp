// SPDX-License-Identifier: MIT
// Controller: reading and following logs.
#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <filesystem>
#include <string_view>

#include "control/controller_impl.hpp"
#include "prisn/core/files.hpp"

namespace prisn::control {
namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

/// True for "NAME-<digits>.log", the current log file of one instance (not a rotated ".log.1").
bool is_instance_log(std::string_view file, std::string_view name) {
  constexpr std::string_view kSuffix = ".log";
  if (file.size() <= name.size() + 1 + kSuffix.size() || !file.starts_with(name) ||
      file[name.size()] != '-' || !file.ends_with(kSuffix)) {
    return false;
  }
  const auto digits = file.substr(name.size() + 1, file.size() - name.size() - 1 - kSuffix.size());
  return std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// The current log file of each instance of a service, by instance name; only `only`'s when
/// it is given.
std::map<std::string, fs::path> instance_logs(const supervisor::Paths& paths, const std::string& ns,
                                              const std::string& name, const std::string& only = "") {
  std::map<std::string, fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(paths.deployment_logs(ns, name), ec)) {
    const std::string file = entry.path().filename().string();
    if (is_instance_log(file, name) && (only.empty() || file == only + ".log")) {
      out[file.substr(0, file.size() - 4)] = entry.path();
    }
  }
  return out;
}

// ?instance= names one instance of a service, known by its log.
Result<void> check_instance(const supervisor::Paths& paths, const store::DeploymentRecord& rec,
                            const std::string& instance) {
  if (instance.empty()) return {};
  const auto& spec = rec.spec;
  if (spec.type != model::DeploymentType::kService) {
    return Error::invalid(fmt::format("instance: '{}' is a {} deployment, whose runs have no instances; "
                                      "its runs' logs are at /api/v1/executions/ID/logs",
                                      spec.name, model::to_string(spec.type)));
  }
  if (instance_logs(paths, spec.ns, spec.name, instance).empty()) {
    return Error::not_found(fmt::format("instance '{}' of deployment '{}' has no log (its instances are {}-0 to {}-{})",
                                        instance, spec.name, spec.name, spec.name, std::max(0, spec.replicas - 1)));
  }
  return {};
}

std::string merged_service_logs(const std::map<std::string, fs::path>& files,
                                const logs::ReadOptions& options) {
  std::vector<std::vector<logs::Line>> sources;
  logs::ReadOptions per_file = options;
  for (const auto& [instance, path] : files) {
    sources.push_back(logs::LogFile(path).read(instance, per_file));
  }
  return logs::render(logs::merge(std::move(sources), options.tail), /*prefix=*/true);
}

std::string execution_log_text(const fs::path& path, const logs::ReadOptions& options) {
  const logs::LogFile file(path);
  if (!options.tail && !options.since_ms) {
    // Byte-exact: output as the process wrote it.
    std::string out = file.text_before_current();
    if (auto current = read_file(path)) out += *current;
    return out;
  }
  return logs::render(file.read("", options), /*prefix=*/false);
}

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

/// Follows one execution's log until the execution has ended and everything was sent.
class ExecutionStream final : public LogStream {
 public:
  ExecutionStream(supervisor::ExecutionRunner& runner, logs::LogMonitor& monitor, asio::any_io_executor ex,
                  std::string id, fs::path path, std::uint64_t offset)
      : runner_(runner), id_(std::move(id)), follower_(path, offset),
        wake_(std::make_shared<asio::steady_timer>(ex)),
        // Output wakes the stream (within the monitor's gap of a write): a writer faster than a
        // poll would otherwise get ahead of it by more than a follower can hold.
        log_(monitor.subscribe(
            path, [this] { wake_->cancel(); },
            [this](const logs::Rotation& r) { follower_.rotated(r); })) {
    std::weak_ptr<asio::steady_timer> weak = wake_;
    runner_.when_done(id_, [weak]() {
      if (auto t = weak.lock()) t->cancel();
    });
  }

  /// Text sent before the followed part.
  void set_initial(std::string text) { initial_ = std::move(text); }

  /// Holds back the lines that end before `since_ms`, a time still to come, as a first read
  /// would; `unfinished` is the line being written when the follow began.
  void hold_until(std::int64_t since_ms, std::string unfinished) {
    since_ms_ = since_ms;
    held_ = std::move(unfinished);
  }

  /// How the run ended, given with the end of its log: a client can tell it even when prisnd
  /// is stopping and takes no further request (`prisn run` exits with it).
  void set_outcome(std::function<std::string()> outcome) { outcome_ = std::move(outcome); }
  std::string trailer_name() const override { return outcome_ ? "Prisn-Execution" : ""; }
  std::string trailer_value() const override { return outcome_ ? outcome_() : ""; }

  void finish() override {
    finishing_ = true;
    wake_->cancel();
  }

  asio::awaitable<std::optional<std::string>> next() override {
    if (!initial_.empty()) {
      co_return std::exchange(initial_, {});
    }
    for (;;) {
      std::string data = after_since(follower_.read_new());
      if (!data.empty()) co_return data;
      if (ended_) co_return std::nullopt;
      if (finishing_ || runner_.active(id_) == nullptr) {
        ended_ = true;  // one more read drains what was written before the end
        continue;
      }
      wake_->expires_after(std::chrono::milliseconds(100));
      co_await wake_->async_wait(kNoThrow);
      if (co_await was_cancelled()) co_return std::nullopt;
    }
  }

 private:
  // Before `since`, whole lines are dropped and the one being written is kept; from then on
  // the bytes pass as they are, that line first.
  std::string after_since(std::string data) {
    if (!since_ms_) return data;
    held_ += data;
    if (to_epoch_ms(WallClock::now()) >= *since_ms_) {
      since_ms_.reset();
      return std::exchange(held_, {});
    }
    if (const auto nl = held_.rfind('\n'); nl != std::string::npos) held_.erase(0, nl + 1);
    return {};
  }

  supervisor::ExecutionRunner& runner_;
  std::string id_;
  logs::Follower follower_;
  std::string initial_;
  std::optional<std::int64_t> since_ms_;
  std::string held_;  // while since_ms_ is ahead: the line being written
  std::function<std::string()> outcome_;
  std::shared_ptr<asio::steady_timer> wake_;
  logs::LogMonitor::Subscription log_;
  bool finishing_ = false;
  bool ended_ = false;
};

/// Follows every instance of a service, line by line with "[NAME-i] " prefixes, picking up
/// instances that start later, until the deployment is deleted and its instances have stopped.
class ServiceStream final : public LogStream {
 public:
  /// Sends `options`' selection of the lines so far, then follows each instance from where
  /// that read ended: a line written meanwhile is neither lost nor sent twice.
  ServiceStream(const Controller::Impl& ctl, asio::any_io_executor ex, std::string ns, std::string name,
                const logs::ReadOptions& options)
      : ctl_(ctl), ns_(std::move(ns)), name_(std::move(name)), only_(options.instance), since_ms_(options.since_ms),
        timer_(ex) {
    std::vector<std::vector<logs::Line>> sources;
    for (const auto& [instance, path] : instance_logs(ctl_.ctx.paths, ns_, name_, only_)) {
      auto start = logs::LogFile(path).read_to_follow(instance, options);
      sources.push_back(std::move(start.lines));
      add(instance, path, start.offset).partial = std::move(start.unfinished);
    }
    initial_ = logs::render(logs::merge(std::move(sources), options.tail), /*prefix=*/true);
  }

  asio::awaitable<std::optional<std::string>> next() override {
    if (!initial_.empty()) {
      co_return std::exchange(initial_, {});
    }
    for (;;) {
      // Deleted: its instances' last lines (written as they stop) still come, then the end.
      if (!finishing_ && ctl_.ctx.store.find_deployment(ns_, name_) == nullptr &&
          ctl_.services.endpoints(ns_, name_).empty()) {
        finishing_ = true;
      }
      for (const auto& [instance, path] : instance_logs(ctl_.ctx.paths, ns_, name_, only_)) {
        if (!sources_.contains(instance)) add(instance, path, /*offset=*/std::uint64_t{0});
      }
      std::string out;
      // A `since` still to come holds back the lines seen before it, as a first read would.
      const bool before_since = since_ms_ && to_epoch_ms(WallClock::now()) < *since_ms_;
      for (auto& [instance, src] : sources_) {
        src.partial += src.follower.read_new();
        std::size_t start = 0;
        for (auto nl = src.partial.find('\n'); nl != std::string::npos; nl = src.partial.find('\n', start)) {
          if (!before_since) out += "[" + instance + "] " + src.partial.substr(start, nl - start + 1);
          start = nl + 1;
        }
        src.partial.erase(0, start);
      }
      if (finishing_) {
        out += unfinished_lines();
        if (out.empty()) co_return std::nullopt;
      }
      if (!out.empty()) co_return out;
      timer_.expires_after(std::chrono::milliseconds(200));
      co_await timer_.async_wait(kNoThrow);
      if (co_await was_cancelled()) co_return std::nullopt;
    }
  }

  void finish() override {
    finishing_ = true;
    timer_.cancel();
  }

 private:
  struct Source {
    explicit Source(logs::Follower f) : follower(std::move(f)) {}
    logs::Follower follower;
    logs::LogMonitor::Subscription log;
    std::string partial;
  };

  Source& add(const std::string& instance, const fs::path& path, std::uint64_t offset) {
    Source& src = sources_.emplace(instance, Source(logs::Follower(path, offset))).first->second;
    src.log = ctl_.ctx.logs.subscribe(
        path, [this] { timer_.cancel(); }, [&f = src.follower](const logs::Rotation& r) { f.rotated(r); });
    return src;
  }

  /// The last lines that no newline ended, each completed with one: nothing more will follow them.
  std::string unfinished_lines() {
    std::string out;
    for (auto& [instance, src] : sources_) {
      if (!src.partial.empty()) out += "[" + instance + "] " + std::exchange(src.partial, {}) + "\n";
    }
    return out;
  }

  const Controller::Impl& ctl_;
  std::string ns_;
  std::string name_;
  std::string only_;  // one instance's log, or (empty) every instance's
  std::string initial_;
  std::optional<std::int64_t> since_ms_;
  asio::steady_timer timer_;
  std::map<std::string, Source> sources_;
  bool finishing_ = false;
};

/// Yields fixed text once, then ends.
class FixedStream final : public LogStream {
 public:
  explicit FixedStream(std::string text) : text_(std::move(text)) {}
  asio::awaitable<std::optional<std::string>> next() override {
    if (done_) co_return std::nullopt;
    done_ = true;
    co_return std::move(text_);
  }
  void finish() override {}

 private:
  std::string text_;
  bool done_ = false;
};

// The id of a job's or cron job's latest run, if it had one: runs of a deleted deployment of
// the same name, made before this one, are history, not its own.
Result<std::optional<std::string>> latest_run(const store::Store& store, const store::DeploymentRecord& rec) {
  auto latest = store.list_executions({rec.spec.ns, rec.spec.name, std::nullopt, 1});
  if (!latest) return latest.error();
  const auto ms = [](WallTime t) { return std::chrono::floor<std::chrono::milliseconds>(t); };  // as stored
  if (latest->empty() || ms(latest->front().created_at) < ms(rec.created_at)) return std::optional<std::string>();
  return std::optional(latest->front().id);
}

Error deployment_not_found(const std::string& ns, const std::string& name) {
  return Error::not_found(fmt::format("deployment '{}' not found in namespace '{}'", name, ns));
}

}  // namespace

Result<std::string> Controller::execution_logs(const std::string& id, const logs::ReadOptions& options) const {
  auto found = get_execution(id);
  if (!found) {
    return found.error();
  }
  return execution_log_text(impl_->ctx.paths.execution_log(id), options);
}

Result<std::string> Controller::deployment_logs(const std::string& ns, const std::string& name,
                                                const logs::ReadOptions& options) const {
  const auto* rec = impl_->ctx.store.find_deployment(ns, name);
  if (rec == nullptr) {
    return deployment_not_found(ns, name);
  }
  if (auto ok = check_instance(impl_->ctx.paths, *rec, options.instance); !ok) return ok.error();
  if (rec->spec.type == model::DeploymentType::kService) {
    return merged_service_logs(instance_logs(impl_->ctx.paths, ns, name, options.instance), options);
  }
  auto latest = latest_run(impl_->ctx.store, *rec);
  if (!latest) {
    return latest.error();
  }
  if (!*latest) {
    return std::string();
  }
  return execution_log_text(impl_->ctx.paths.execution_log(**latest), options);
}

namespace {

// How a run ended, in brief: the fields `prisn run` needs for its exit status.
std::string execution_outcome(const Controller& ctl, const std::string& id) {
  auto e = ctl.get_execution(id);
  if (!e) return {};
  model::Json out = model::Json::object();
  for (const char* key : {"id", "status", "exit_code", "signal", "error"}) {
    if (e->contains(key)) out[key] = (*e)[key];
  }
  // One line of ASCII, as a field value must be: dump() escapes control and non-ASCII bytes.
  return out.dump(-1, ' ', /*ensure_ascii=*/true, model::Json::error_handler_t::replace);
}

}  // namespace

Result<std::shared_ptr<LogStream>> Controller::follow_execution_logs(const std::string& id,
                                                                     const logs::ReadOptions& options) {
  auto found = get_execution(id);
  if (!found) {
    return found.error();
  }
  const fs::path path = impl_->ctx.paths.execution_log(id);
  // Whole log: byte-exact, the follower reads the current file from its start. Tail or since:
  // the selected lines, then the follower goes on from where they were read.
  const bool whole = !options.tail && !options.since_ms;
  auto start = whole ? logs::FollowStart{} : logs::LogFile(path).read_to_follow("", options);
  auto stream =
      std::make_shared<ExecutionStream>(impl_->runner, impl_->ctx.logs, impl_->ctx.executor, id, path, start.offset);
  std::string initial;
  if (whole) {
    initial = logs::LogFile(path).text_before_current();
  } else if (options.since_ms && to_epoch_ms(WallClock::now()) < *options.since_ms) {
    stream->hold_until(*options.since_ms, std::move(start.unfinished));
  } else {
    initial = logs::render(start.lines, /*prefix=*/false) + start.unfinished;
  }
  stream->set_initial(std::move(initial));
  stream->set_outcome([this, id] { return execution_outcome(*this, id); });
  return std::shared_ptr<LogStream>(stream);
}

Result<std::shared_ptr<LogStream>> Controller::follow_deployment_logs(const std::string& ns,
                                                                      const std::string& name,
                                                                      const logs::ReadOptions& options) {
  const auto* rec = impl_->ctx.store.find_deployment(ns, name);
  if (rec == nullptr) {
    return deployment_not_found(ns, name);
  }
  if (auto ok = check_instance(impl_->ctx.paths, *rec, options.instance); !ok) return ok.error();
  if (rec->spec.type != model::DeploymentType::kService) {
    auto latest = latest_run(impl_->ctx.store, *rec);
    if (!latest) return latest.error();
    if (!*latest) return std::shared_ptr<LogStream>(std::make_shared<FixedStream>(""));
    return follow_execution_logs(**latest, options);
  }
  return std::shared_ptr<LogStream>(std::make_shared<ServiceStream>(*impl_, impl_->ctx.executor, ns, name, options));
}

}  // namespace prisn::control
