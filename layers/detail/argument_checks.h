#pragma once
// Checks of numeric layer arguments shared by the activation and normalization layers. Each raises a
// ValueError naming the layer ("ReLU 'relu_1'"), the argument and the value.
#include <cmath>

#include <fmt/format.h>

#include "keel/core/error.h"
#include "keel/layers/layer.h"

namespace keel::layers::detail {

inline void require_non_negative(const Layer& layer, const char* argument, double value) {
  if (!(value >= 0.0) || !std::isfinite(value))
    throw ValueError(fmt::format("{} '{}': {} must be a finite number >= 0, got {}", layer.class_name(), layer.name(),
                                 argument, value));
}

inline void require_finite(const Layer& layer, const char* argument, double value) {
  if (!std::isfinite(value))
    throw ValueError(fmt::format("{} '{}': {} must be finite, got {}", layer.class_name(), layer.name(), argument, value));
}

inline void require_positive_number(const Layer& layer, const char* argument, double value) {
  if (!(value > 0.0) || !std::isfinite(value))
    throw ValueError(fmt::format("{} '{}': {} must be a finite number > 0, got {}", layer.class_name(), layer.name(),
                                 argument, value));
}

}  // namespace keel::layers::detail
