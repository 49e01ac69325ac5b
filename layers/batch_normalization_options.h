#pragma once
// Every argument of BatchNormalization (docs/semantics.md §1.1), shared by the layer and the functional form:
// the options struct, its checks, and its JSON form (get_config / from_config).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "keel/core/config_reader.h"
#include "keel/core/tensor.h"
#include "keel/layers/constraints.h"
#include "keel/layers/initializers.h"
#include "keel/layers/regularizers.h"

namespace keel::layers {

// Batch renormalization clipping (§1.6): a missing bound means no clipping on that side.
struct RenormClipping {
  std::optional<double> rmax = std::nullopt;
  std::optional<double> rmin = std::nullopt;
  std::optional<double> dmax = std::nullopt;
};

// Training-only adjustment (§1.8): from the input shape to (scale, bias), each broadcastable to the
// channel shape (one value, or one per channel).
using BatchNormAdjustment = std::function<std::pair<Tensor, Tensor>(const Shape&)>;

struct BatchNormalizationOptions {
  // One axis, or several: statistics per combination of the listed axes (negative counts from the end).
  std::vector<std::int64_t> axis = {-1};
  double momentum = 0.99;
  double epsilon = 1e-3;
  bool center = true;  // creates beta
  bool scale = true;   // creates gamma
  Initializer beta_initializer = "zeros";
  Initializer gamma_initializer = "ones";
  Initializer moving_mean_initializer = "zeros";
  Initializer moving_variance_initializer = "ones";
  Regularizer beta_regularizer = {};
  Regularizer gamma_regularizer = {};
  Constraint beta_constraint = {};
  Constraint gamma_constraint = {};
  bool renorm = false;
  RenormClipping renorm_clipping = {};
  double renorm_momentum = 0.99;
  // nullopt = auto. Validation only (§1.11): true checks tf.keras's fused conditions, never changes a number.
  std::optional<bool> fused = std::nullopt;
  std::optional<std::int64_t> virtual_batch_size = std::nullopt;
  BatchNormAdjustment adjustment = {};
  bool synchronized = false;
  bool trainable = true;
};

// The construction-time checks of §1.1/§1.6/§1.7/§1.8/§1.11: ValueError starting with `error_context`
// (the layer, or the functional form), naming the argument and the value.
void validate_batch_norm_options(const BatchNormalizationOptions& options, const std::string& error_context);

// The normalized axes (ascending, non-negative) for an input shape, after the build-time checks: rank
// at least 2, every axis inside the rank (ShapeError naming the axis and the rank), no axis given twice,
// and the fused / ghost-batch conditions that need the rank (ValueError).
std::vector<std::int64_t> resolve_batch_norm_axes(const BatchNormalizationOptions& options, const Shape& input_shape,
                                                  const std::string& error_context);

// The weight shape: the sizes of the normalized axes, in axis order ([C] for one axis).
Shape batch_norm_param_shape(const Shape& input_shape, const std::vector<std::int64_t>& axes);

// Writes every argument except adjustment into `config` (Keras's keys).
void batch_norm_options_to_json(const BatchNormalizationOptions& options, nlohmann::json& config);
// Reads them back (not trainable, which is the layer's base key); `reader` refuses the keys left over,
// and a renorm_clipping key other than rmax, rmin, dmax is a ValueError naming it.
BatchNormalizationOptions read_batch_norm_options(config::ConfigReader& reader);

}  // namespace keel::layers
