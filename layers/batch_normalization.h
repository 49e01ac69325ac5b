#pragma once
// BatchNormalization (docs/semantics.md §1): every Keras / tf.keras argument, Keras's numbers.
//
//   auto bn = layers::BatchNormalization({.momentum = 0.9f, .renorm = true});
//   Tensor y = (*bn)(x, /*training=*/true);
//
// Weights, in order: gamma (scale), beta (center), moving_mean, moving_variance, then with renorm
// moving_stddev, renorm_mean, renorm_stddev; each has the shape of the normalized axes. Training mode
// normalizes with the batch's biased statistics and updates the moving ones (staged inside fit);
// inference mode uses the moving statistics. A frozen layer (trainable == false) always runs in
// inference mode, read at call time. The call's mask (rank of the input minus one, broadcast over the
// last axis) keeps masked positions out of the statistics.
#include <memory>
#include <string>

#include "keel/layers/batch_normalization_functional.h"
#include "keel/layers/batch_normalization_options.h"
#include "keel/layers/layer.h"

namespace keel::layers {

class BatchNormalizationLayer : public Layer {
 public:
  using Options = BatchNormalizationOptions;

  // Invalid values and combinations are a ValueError naming the argument (§1.1).
  explicit BatchNormalizationLayer(Options options, std::string name = "");
  // The construction arguments; `trainable` is the layer's current flag (set_trainable changes it).
  Options options() const;

  // The weights (undefined until built, or when not created: gamma without scale, beta without
  // center, the renorm statistics without renorm).
  const Variable& gamma() const { return weights_.gamma; }
  const Variable& beta() const { return weights_.beta; }
  const Variable& moving_mean() const { return weights_.moving_mean; }
  const Variable& moving_variance() const { return weights_.moving_variance; }
  const Variable& moving_stddev() const { return weights_.moving_stddev; }
  const Variable& renorm_mean() const { return weights_.renorm_mean; }
  const Variable& renorm_stddev() const { return weights_.renorm_stddev; }

  // Every argument except adjustment, which cannot be serialized (left out with a warning).
  nlohmann::json get_config() const override;
  // Unknown keys (top level or in renorm_clipping) are a ValueError naming them.
  static std::shared_ptr<BatchNormalizationLayer> from_config(const nlohmann::json& config);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  // "BatchNormalization '<name>'", the start of every message.
  std::string error_context() const;

  Options options_;  // options_.trainable is only the initial flag: trainable() holds the current one
  std::vector<std::int64_t> axes_;  // normalized at build
  BatchNormWeights<Variable> weights_;
  bool warned_one_value_ = false;
};

Ref<BatchNormalizationLayer> BatchNormalization(BatchNormalizationLayer::Options options = {},
                                                            std::string name = "");

}  // namespace keel::layers
