#pragma once
// One BatchNormalization forward step over explicit state (docs/semantics.md §1.3–§1.10), shared by the layer
// and the functional form. Two paths give the same numbers to float rounding:
//  - fast: one differentiable op over the [outer, C, inner] view of a contiguous input, running the
//    core BatchNorm kernels (single axis, no mask, ghost batches or adjustment; renorm and
//    synchronization included);
//  - composed: differentiable ops in float64 for everything else (axis lists, masks, ghost batches,
//    adjustment).
// Statistics are double for float32 inputs on both paths.
#include <cstdint>
#include <string>
#include <vector>

#include "keel/core/tensor.h"
#include "keel/layers/batch_normalization_options.h"

namespace keel {
class ReplicaContext;
}

namespace keel::layers {

// gamma and beta may be undefined (scale=false / center=false); the renorm tensors are used with renorm
// only. All have the weight shape (batch_norm_param_shape).
struct BatchNormState {
  Tensor gamma = {};
  Tensor beta = {};
  Tensor moving_mean = {};
  Tensor moving_variance = {};
  Tensor moving_stddev = {};
  Tensor renorm_mean = {};
  Tensor renorm_stddev = {};
  // Set once the functional form has warned about one value per channel (the layer keeps its own flag).
  bool warned_one_value_per_channel = false;
};

// Per-channel batch statistics after ghost-batch averaging (weight-shape order).
struct BatchStatistics {
  std::vector<double> mean, var;
  std::vector<char> has_data;        // false where the count was 0: no contribution to moving statistics
  bool one_value_per_channel = false;  // some count feeding the statistics was exactly 1
};

struct BatchNormStep {
  Tensor output;
  // New values of the statistics a training step changes (undefined: unchanged), in the weights' dtype.
  BatchNormState updated;
  bool one_value_per_channel = false;
};

// `axes` from resolve_batch_norm_axes; `mask` may be undefined; `who` names the layer in errors.
// The state must hold x's dtype and the weight shape (ValueError / ShapeError otherwise); a mask must be
// boolean with the input's rank minus one, broadcastable to the input's leading shape, in both modes.
BatchNormStep batch_norm_step(const Tensor& x, const Tensor& mask, const BatchNormState& state,
                              const BatchNormalizationOptions& options, const std::vector<std::int64_t>& axes,
                              bool training, const std::string& who);

// The two paths, exposed so tests can check that they agree.
struct BatchNormTraining {
  Tensor output;
  BatchStatistics stats;
};
bool batch_norm_fast_path_applies(const Tensor& mask, const BatchNormalizationOptions& options,
                                  const std::vector<std::int64_t>& axes);
BatchNormTraining batch_norm_training_fast(const Tensor& x, std::int64_t axis, const BatchNormState& state,
                                           const BatchNormalizationOptions& options);
BatchNormTraining batch_norm_training_composed(const Tensor& x, const Tensor& mask, const std::vector<std::int64_t>& axes,
                                               const BatchNormState& state, const BatchNormalizationOptions& options,
                                               const std::string& who);
Tensor batch_norm_inference_fast(const Tensor& x, std::int64_t axis, const BatchNormState& state, double epsilon);
Tensor batch_norm_inference_composed(const Tensor& x, const std::vector<std::int64_t>& axes, const BatchNormState& state,
                                     double epsilon);

// The mask broadcast over the input (boolean, contiguous), after the checks above.
Tensor batch_norm_expanded_mask(const Tensor& mask, const Tensor& x, const std::string& who);

// The replica group a synchronized layer all-reduces over, or nullptr (not synchronized, or one replica).
ReplicaContext* batch_norm_sync_group(const BatchNormalizationOptions& options);

// Renorm's r and d per channel (§1.6) from the batch moments and the pre-update renorm statistics.
struct RenormCorrection {
  std::vector<double> r, d;
};
RenormCorrection renorm_correction(const std::vector<double>& mean, const std::vector<double>& var,
                                   const BatchNormState& state, const BatchNormalizationOptions& options);

}  // namespace keel::layers
