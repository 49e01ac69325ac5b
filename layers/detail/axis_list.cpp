#include "keel/layers/detail/axis_list.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "keel/core/error.h"

namespace keel::layers::detail {

std::vector<std::int64_t> resolve_axes(const Layer& layer, const std::vector<std::int64_t>& axes,
                                       const Shape& input_shape) {
  const auto rank = static_cast<std::int64_t>(input_shape.size());
  if (axes.empty())
    throw ValueError(fmt::format("{} '{}': axis must name at least one axis, got []", layer.class_name(), layer.name()));
  std::vector<std::int64_t> out;
  for (std::int64_t a : axes) {
    if (a < -rank || a >= rank)
      throw ShapeError(fmt::format("{} '{}': axis {} is out of range for an input of rank {} (shape {})",
                                   layer.class_name(), layer.name(), a, rank, to_string(input_shape)));
    const std::int64_t n = a < 0 ? a + rank : a;
    if (std::find(out.begin(), out.end(), n) != out.end())
      throw ValueError(fmt::format("{} '{}': axis={} names axis {} twice for an input of rank {}", layer.class_name(),
                                   layer.name(), axes, n, rank));
    out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

nlohmann::json axis_list_to_json(const std::vector<std::int64_t>& axes) {
  return axes.size() == 1 ? nlohmann::json(axes[0]) : nlohmann::json(axes);
}

std::vector<std::int64_t> read_axis_list(config::ConfigReader& reader, const std::string& key,
                                         const std::vector<std::int64_t>& fallback) {
  if (const nlohmann::json& axis = reader.value(key); axis.is_number_integer())
    return {config::integer_in(reader, key, axis)};
  return reader.integers(key, fallback);
}

}  // namespace keel::layers::detail
