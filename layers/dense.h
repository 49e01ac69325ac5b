#pragma once
// Dense (Keras): y = activation(x · kernel + bias) over the last axis of an input of rank >= 2.
// kernel is [in, units] (glorot_uniform), bias [units] (zeros); weights in that order.
#include <cstdint>
#include <memory>
#include <string>

#include "keel/layers/layer_options.h"

namespace keel::layers {

class DenseLayer : public Layer {
 public:
  struct Options {
    std::int64_t units = 0;
    keel::Activation activation = {};
    bool use_bias = true;
    Initializer kernel_initializer = "glorot_uniform";
    Initializer bias_initializer = "zeros";
    Regularizer kernel_regularizer = {};
    Regularizer bias_regularizer = {};
    Regularizer activity_regularizer = {};
    Constraint kernel_constraint = {};
    Constraint bias_constraint = {};
  };

  explicit DenseLayer(Options options, std::string name = "");
  const Options& options() const { return options_; }
  const Variable& kernel() const { return kernel_; }
  const Variable& bias() const { return bias_; }  // undefined without use_bias

  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  static std::shared_ptr<DenseLayer> from_config(const nlohmann::json& config);

 protected:
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;

 private:
  Options options_;
  Variable kernel_, bias_;
};

Ref<DenseLayer> Dense(DenseLayer::Options options = {}, std::string name = "");

}  // namespace keel::layers
