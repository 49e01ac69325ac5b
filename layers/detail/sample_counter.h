#pragma once
// Where a random layer's draw starts: counters run over the global batch, so a replica's share
// (CallContext::first_sample) draws its own samples' numbers (docs/design.md#threads-and-determinism).
#include <cstdint>

#include "keel/core/shape.h"
#include "keel/layers/layer.h"

namespace keel::layers::detail {

// The counter of sample ctx.first_sample's first element in a draw of `shape` (batch axis first).
inline std::uint64_t first_counter(const CallContext& ctx, const Shape& shape) {
  std::int64_t per_sample = 1;
  for (std::size_t i = 1; i < shape.size(); ++i) per_sample *= shape[i];
  return static_cast<std::uint64_t>(ctx.first_sample * per_sample);
}

// A rate in [0, 1): ValueError naming the layer and the value otherwise.
void require_rate(const Layer& layer, double rate);

}  // namespace keel::layers::detail
