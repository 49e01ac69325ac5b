#pragma once
// An `axis` argument that is one axis or a list of them (Softmax, LayerNormalization,
// UnitNormalization): resolving it against an input's rank, and its JSON form (an int when there is
// one axis, as Keras writes it).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "keel/core/config_reader.h"
#include "keel/core/shape.h"
#include "keel/layers/layer.h"

namespace keel::layers::detail {

// The axes made non-negative and sorted. An empty list or an axis given twice is a ValueError, an
// axis outside the rank a ShapeError; both name the layer, the argument and the input shape.
std::vector<std::int64_t> resolve_axes(const Layer& layer, const std::vector<std::int64_t>& axes,
                                       const Shape& input_shape);

nlohmann::json axis_list_to_json(const std::vector<std::int64_t>& axes);
// An int or a list of ints at `key`; `fallback` when missing.
std::vector<std::int64_t> read_axis_list(config::ConfigReader& reader, const std::string& key,
                                         const std::vector<std::int64_t>& fallback);

}  // namespace keel::layers::detail
