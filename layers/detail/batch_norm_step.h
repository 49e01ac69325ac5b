#pragma once
// Internal to layers/: one BatchNormalization call over explicit state (docs/semantics.md §1.3–§1.10),
// behind both the layer and keel::batch_normalization. Two paths give the same numbers to float rounding:
//  - fast (batch_norm_fast.cpp): one differentiable op over the [outer, C, inner] view of a contiguous
//    input, running the core BatchNorm kernels (single axis, no mask, ghost batches or adjustment;
//    renorm and synchronization included);
//  - composed (batch_norm_composed.cpp): differentiable ops in float64 for everything else (axis lists,
//    masks, ghost batches, adjustment).
// Statistics are double for float32 inputs on both paths.
#include <cstdint>
#include <string>
#include <vector>

#include "keel/core/tensor.h"
#include "keel/layers/batch_normalization_functional.h"
#include "keel/layers/batch_normalization_options.h"

namespace keel {
class ReplicaContext;
}

namespace keel::layers::detail {

struct BatchNormResult {
  Tensor output;
  // New values of the moving statistics a training step changes (undefined: unchanged), in the weights'
  // dtype. gamma and beta are never set.
  BatchNormWeights<Tensor> updated;
};

// One call: the output and the new moving statistics, leaving `state` as it is (the layer stages the
// updates, the functional form writes them). `axes` from resolve_batch_norm_axes; `mask` may be
// undefined; `error_context` starts every message. The state must hold x's dtype and the weight shape
// (ValueError / ShapeError otherwise); a mask must be boolean with the input's rank minus one,
// broadcastable to the input's leading shape, in both modes. A training step on one value per channel
// logs a warning the first time for each `warned_one_value` flag, which it then sets.
BatchNormResult batch_norm_step(const Tensor& x, const Tensor& mask, const BatchNormWeights<Tensor>& state,
                                const BatchNormalizationOptions& options, const std::vector<std::int64_t>& axes,
                                bool training, const std::string& error_context, bool& warned_one_value);

// Per-channel batch statistics after ghost-batch averaging (weight-shape order).
struct BatchStatistics {
  std::vector<double> mean, var;
  std::vector<char> has_data;          // false where the count was 0: no contribution to moving statistics
  bool one_value_per_channel = false;  // some count feeding the statistics was exactly 1
};

// The two paths, declared here so tests can check that they agree.
struct BatchNormTraining {
  Tensor output;
  BatchStatistics stats;
};
bool batch_norm_fast_path_applies(const Tensor& mask, const BatchNormalizationOptions& options,
                                  const std::vector<std::int64_t>& axes);
BatchNormTraining batch_norm_training_fast(const Tensor& x, std::int64_t axis, const BatchNormWeights<Tensor>& state,
                                           const BatchNormalizationOptions& options);
BatchNormTraining batch_norm_training_composed(const Tensor& x, const Tensor& mask,
                                               const std::vector<std::int64_t>& axes,
                                               const BatchNormWeights<Tensor>& state,
                                               const BatchNormalizationOptions& options,
                                               const std::string& error_context);
Tensor batch_norm_inference_fast(const Tensor& x, std::int64_t axis, const BatchNormWeights<Tensor>& state,
                                 double epsilon);
Tensor batch_norm_inference_composed(const Tensor& x, const std::vector<std::int64_t>& axes,
                                     const BatchNormWeights<Tensor>& state, double epsilon);

// What both paths share.

// The mask broadcast over the input (boolean, contiguous), after the checks of batch_norm_step.
Tensor batch_norm_expanded_mask(const Tensor& mask, const Tensor& x, const std::string& error_context);

// The replica group a synchronized layer all-reduces over, or nullptr (not synchronized, or one replica).
ReplicaContext* batch_norm_sync_group(const BatchNormalizationOptions& options);

// Renorm's r and d per channel (§1.6) from the batch moments and the pre-update renorm statistics.
struct RenormCorrection {
  std::vector<double> r, d;
};
RenormCorrection renorm_correction(const std::vector<double>& mean, const std::vector<double>& var,
                                   const BatchNormWeights<Tensor>& state, const BatchNormalizationOptions& options);

}  // namespace keel::layers::detail
