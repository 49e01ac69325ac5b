#include "keel/layers/dense.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"

namespace keel::layers {

DenseLayer::DenseLayer(Options options, std::string name) : Layer("Dense", std::move(name)), options_(std::move(options)) {
  require_positive(*this, "units", options_.units);
  set_activity_regularizer(options_.activity_regularizer);
}

void DenseLayer::build(const Shape& input_shape) {
  if (input_shape.size() < 2)
    throw ShapeError(fmt::format("Dense '{}': expected an input of rank >= 2, got shape {}", name(), to_string(input_shape)));
  const std::int64_t in = input_shape.back();
  kernel_ = add_weight("kernel", {in, options_.units},
                       {.initializer = options_.kernel_initializer,
                        .regularizer = options_.kernel_regularizer,
                        .constraint = options_.kernel_constraint});
  if (options_.use_bias)
    bias_ = add_weight("bias", {options_.units},
                       {.initializer = options_.bias_initializer,
                        .regularizer = options_.bias_regularizer,
                        .constraint = options_.bias_constraint});
  set_input_spec({.min_ndim = 2, .axes = {{-1, in}}});
}

Tensor DenseLayer::call(const Tensor& x, const CallContext&) {
  // Every leading axis folds into the GEMM's rows: one product for the whole batch.
  const std::int64_t in = x.shape().back();
  Shape out_shape = x.shape();
  out_shape.back() = options_.units;
  Tensor x2 = x.dim() == 2 ? x : ops::reshape(x, {x.numel() / std::max<std::int64_t>(in, 1), in});
  // Bias and ReLU go into the one pass over the GEMM's output; other activations follow.
  const bool fused_relu = options_.activation.is_builtin_relu();
  Tensor y = ops::linear(x2, kernel_.value(), options_.use_bias ? bias_.value() : Tensor(), fused_relu);
  if (!fused_relu) y = options_.activation(y);
  return x.dim() == 2 ? y : ops::reshape(y, out_shape);
}

Shape DenseLayer::compute_output_shape(const Shape& input_shape) const {
  if (input_shape.size() < 2)
    throw ShapeError(fmt::format("Dense '{}': expected an input of rank >= 2, got shape {}", name(), to_string(input_shape)));
  Shape out = input_shape;
  out.back() = options_.units;
  return out;
}

nlohmann::json DenseLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["units"] = options_.units;
  kernel_bias_to_json(options_, c);
  return c;
}

std::shared_ptr<DenseLayer> DenseLayer::from_config(const nlohmann::json& config) {
  return make_from_config<DenseLayer>("Dense", config, [](config::ConfigReader& r) {
    Options o;
    o.units = r.integer("units", 0);
    kernel_bias_from_config(r, o);
    return o;
  });
}

Ref<DenseLayer> Dense(DenseLayer::Options options, std::string name) {
  return std::make_shared<DenseLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
