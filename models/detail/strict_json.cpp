#include "keel/models/detail/strict_json.h"

#include <fmt/format.h>

#include <set>
#include <vector>

namespace keel::io {

StrictJson parse_json_strictly(std::string_view text, int max_depth) {
  using Event = nlohmann::json::parse_event_t;
  std::vector<std::set<std::string>> keys_of_open_objects;
  std::string problem;
  auto check = [&](int depth, Event event, nlohmann::json& parsed) {
    if (!problem.empty()) return false;
    if (depth > max_depth) {
      problem = fmt::format("JSON nested deeper than {} levels", max_depth);
      return false;
    }
    switch (event) {
      case Event::object_start: keys_of_open_objects.emplace_back(); break;
      case Event::object_end: keys_of_open_objects.pop_back(); break;
      case Event::key:
        if (!keys_of_open_objects.back().insert(parsed.get<std::string>()).second) {
          problem = fmt::format("duplicate JSON key '{}'", parsed.get<std::string>());
          return false;
        }
        break;
      default: break;
    }
    return true;
  };
  StrictJson result;
  try {
    result.value = nlohmann::json::parse(text.begin(), text.end(), check, /*allow_exceptions=*/true);
  } catch (const nlohmann::json::exception& e) {
    result.problem = fmt::format("invalid JSON ({})", e.what());
  }
  if (!problem.empty()) result.problem = problem;
  if (!result.problem.empty()) result.value = nlohmann::json();
  return result;
}

}  // namespace keel::io
