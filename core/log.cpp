#include "keel/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <mutex>

namespace keel::log {
namespace {

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto l = spdlog::stderr_color_mt("keel");
    l->set_pattern("[keel] [%l] %v");
    const char* env = std::getenv("KEEL_LOG_LEVEL");
    l->set_level(env ? spdlog::level::from_str(env) : spdlog::level::warn);
    return l;
  }();
  return *instance;
}

}  // namespace

void debug(std::string_view message) { logger().debug(message); }
void info(std::string_view message) { logger().info(message); }
void warn(std::string_view message) { logger().warn(message); }

void reload_level_from_env() {
  const char* env = std::getenv("KEEL_LOG_LEVEL");
  logger().set_level(env ? spdlog::level::from_str(env) : spdlog::level::warn);
}

}  // namespace keel::log
