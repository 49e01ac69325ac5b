#pragma once
// Internal to layers/: which weights BatchNormalization creates and how its moving statistics are
// written back, written once for the layer (Variables) and the functional form (Tensors).
#include <nlohmann/json.hpp>

#include "keel/autograd/ops.h"
#include "keel/layers/batch_normalization_functional.h"
#include "keel/layers/batch_normalization_options.h"
#include "keel/layers/layer.h"

namespace keel::layers::detail {

// sqrt of another initializer's values: the starting moving_stddev / renorm_stddev (§1.2).
struct SqrtOfInitializer {
  Initializer inner;
  static constexpr const char* class_name = "SqrtOf";
  Tensor operator()(const Shape& shape, DType dtype) const { return ops::sqrt(inner(shape, dtype)); }
  nlohmann::json get_config() const { return {{"initializer", inner.serialize()}}; }
};

// Fills the weights `options` asks for, in Keras's order: weights.<name> = create(name, how it starts).
template <class T, class Create>
void create_batch_norm_weights(const BatchNormalizationOptions& o, BatchNormWeights<T>& weights, Create&& create) {
  if (o.scale)
    weights.gamma = create("gamma", WeightOptions{.initializer = o.gamma_initializer,
                                                  .regularizer = o.gamma_regularizer,
                                                  .constraint = o.gamma_constraint});
  if (o.center)
    weights.beta = create("beta", WeightOptions{.initializer = o.beta_initializer,
                                                .regularizer = o.beta_regularizer,
                                                .constraint = o.beta_constraint});
  weights.moving_mean =
      create("moving_mean", WeightOptions{.initializer = o.moving_mean_initializer, .trainable = false});
  weights.moving_variance =
      create("moving_variance", WeightOptions{.initializer = o.moving_variance_initializer, .trainable = false});
  if (o.renorm) {
    const Initializer stddev = SqrtOfInitializer{o.moving_variance_initializer};
    weights.moving_stddev = create("moving_stddev", WeightOptions{.initializer = stddev, .trainable = false});
    weights.renorm_mean =
        create("renorm_mean", WeightOptions{.initializer = o.moving_mean_initializer, .trainable = false});
    weights.renorm_stddev = create("renorm_stddev", WeightOptions{.initializer = stddev, .trainable = false});
  }
}

// write(weights.<statistic>, new value) for each moving statistic a step changed (defined in `updated`).
template <class T, class Write>
void write_moving_statistics(BatchNormWeights<T>& weights, const BatchNormWeights<Tensor>& updated, Write&& write) {
  const std::pair<T*, const Tensor*> statistics[] = {{&weights.moving_mean, &updated.moving_mean},
                                                     {&weights.moving_variance, &updated.moving_variance},
                                                     {&weights.moving_stddev, &updated.moving_stddev},
                                                     {&weights.renorm_mean, &updated.renorm_mean},
                                                     {&weights.renorm_stddev, &updated.renorm_stddev}};
  for (const auto& [target, value] : statistics)
    if (value->defined()) write(*target, *value);
}

}  // namespace keel::layers::detail
