#pragma once
// JSON parsing for untrusted file headers: refuses what nlohmann::json would silently accept.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace keel::io {

struct StrictJson {
  nlohmann::json value;  // discarded when problem is non-empty
  std::string problem;   // empty on success, else what was wrong ("duplicate key 'a'", a parse error, ...)
};

// Parses `text` as one JSON value (surrounding whitespace allowed). Besides syntax errors and invalid UTF-8
// it refuses duplicate object keys (nlohmann keeps the last one, which would let a corrupted key shadow
// another) and nesting deeper than `max_depth`. Never throws.
StrictJson parse_json_strictly(std::string_view text, int max_depth);

}  // namespace keel::io
