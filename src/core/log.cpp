// SPDX-License-Identifier: MIT
#include "prisn/core/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <unistd.h>

#include <mutex>

namespace prisn {
namespace {

std::mutex g_mutex;
spdlog::sink_ptr g_sink;
spdlog::level::level_enum g_level = spdlog::level::info;

spdlog::sink_ptr shared_sink() {
  if (!g_sink) {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
        isatty(STDERR_FILENO) ? spdlog::color_mode::automatic : spdlog::color_mode::never);
    sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
    g_sink = sink;
  }
  return g_sink;
}

}  // namespace

bool init_logging(std::string_view level) {
  const auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return false;
  }
  std::lock_guard lock(g_mutex);
  g_level = parsed;
  shared_sink();
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->set_level(g_level); });
  return true;
}

std::shared_ptr<spdlog::logger> logger(const std::string& module) {
  const std::string name = "prisn." + module;
  std::lock_guard lock(g_mutex);
  if (auto existing = spdlog::get(name)) {
    return existing;
  }
  auto created = std::make_shared<spdlog::logger>(name, shared_sink());
  created->set_level(g_level);
  created->flush_on(spdlog::level::warn);
  spdlog::register_logger(created);
  return created;
}

}  // namespace prisn
