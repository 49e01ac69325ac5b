#pragma once
// keel's logging goes through spdlog (kept out of public headers). The default level is `warn`;
// KEEL_LOG_LEVEL (trace, debug, info, warn, error, off) changes it.
#include <string_view>

namespace keel::log {

void debug(std::string_view message);
void info(std::string_view message);
void warn(std::string_view message);
// Applies KEEL_LOG_LEVEL now (it is read once on first use otherwise); for tests.
void reload_level_from_env();

}  // namespace keel::log
