#include "keel/layers/detail/conv_layer_support.h"

#include <fmt/format.h>

#include "keel/core/error.h"
#include "keel/core/kernels/window_geometry.h"

namespace keel::layers::detail {

void require_rank(const Layer& layer, const Shape& input_shape, std::size_t rank) {
  if (input_shape.size() != rank)
    throw ShapeError(fmt::format("{} '{}': expected a rank-{} input, got shape {}", layer.class_name(), layer.name(),
                                 rank, to_string(input_shape)));
}

void require_unit_strides_or_dilation(const Layer& layer, const Size2& s, const Size2& d) {
  if ((s.h > 1 || s.w > 1) && (d.h > 1 || d.w > 1))
    throw ValueError(fmt::format("{} '{}': strides > 1 cannot be combined with dilation_rate > 1, got strides ({}, {}) "
                                 "and dilation_rate ({}, {})",
                                 layer.class_name(), layer.name(), s.h, s.w, d.h, d.w));
}

Shape windowed_output_shape(const Layer& layer, const Shape& input_shape, const Size2& kernel, const Size2& strides,
                            const Size2& dilation_rate, bool same_padding, bool channels_first, std::int64_t channels) {
  require_rank(layer, input_shape, 4);
  const std::size_t h_axis = channels_first ? 2 : 1;
  const std::string op = fmt::format("{} '{}'", layer.class_name(), layer.name());
  Shape out = input_shape;  // a free size (-1) stays free
  if (input_shape[h_axis] != -1)
    out[h_axis] = kernels::window_extent(op, "height", input_shape[h_axis], kernel.h, strides.h, dilation_rate.h,
                                         same_padding).out;
  if (input_shape[h_axis + 1] != -1)
    out[h_axis + 1] = kernels::window_extent(op, "width", input_shape[h_axis + 1], kernel.w, strides.w,
                                             dilation_rate.w, same_padding).out;
  out[channels_first ? 1 : 3] = channels;
  return out;
}

std::int64_t read_size1(config::ConfigReader& reader, const std::string& key, std::int64_t fallback) {
  const nlohmann::json& value = reader.value(key);
  if (!reader.contains(key)) return fallback;
  if (value.is_number_integer()) return config::integer_in(reader, key, value);
  if (value.is_array() && value.size() == 1) return config::integer_in(reader, key, value[0]);
  reader.fail(key, "must be an integer or a list of one integer", value);
}

nlohmann::json sides_to_json(const Padding2& p) { return {{p.top, p.bottom}, {p.left, p.right}}; }

Padding2 read_sides(config::ConfigReader& reader, const std::string& key, const Padding2& fallback) {
  const nlohmann::json& value = reader.value(key);
  if (!reader.contains(key)) return fallback;
  if (value.is_array() && value.size() == 2 && value[0].is_array())
    return Padding2(size2_in(reader, key, value[0]), size2_in(reader, key, value[1]));
  const Size2 hw = size2_in(reader, key, value);
  return Padding2(hw.h, hw.w);
}

}  // namespace keel::layers::detail
