#include "keel/layers/detail/sample_counter.h"

#include <fmt/format.h>

#include "keel/core/error.h"

namespace keel::layers::detail {

void require_rate(const Layer& layer, double rate) {
  if (!(rate >= 0.0 && rate < 1.0))
    throw ValueError(fmt::format("{} '{}': rate must be in [0, 1), got {}", layer.class_name(), layer.name(), rate));
}

}  // namespace keel::layers::detail
