#include "keel/layers/prelu.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"

namespace keel::layers {

PReLULayer::PReLULayer(Options options, std::string name)
    : Layer("PReLU", std::move(name)), options_(std::move(options)) {
  for (std::int64_t a : options_.shared_axes)
    if (a < 1)
      throw ValueError(fmt::format("PReLU '{}': shared_axes are 1-based input axes (the batch is axis 0), got {}",
                                   this->name(), options_.shared_axes));
}

void PReLULayer::build(const Shape& input_shape) {
  const auto rank = static_cast<std::int64_t>(input_shape.size());
  if (rank < 2)
    throw ShapeError(fmt::format("PReLU '{}': expected an input of rank >= 2 (a batch axis first), got shape {}", name(),
                                 to_string(input_shape)));
  Shape alpha_shape(input_shape.begin() + 1, input_shape.end());
  InputSpec spec{.ndim = rank};
  for (std::int64_t a : options_.shared_axes) {
    if (a >= rank)
      throw ShapeError(fmt::format("PReLU '{}': shared_axes {} names axis {}, outside an input of shape {}", name(),
                                   options_.shared_axes, a, to_string(input_shape)));
    alpha_shape[a - 1] = 1;
  }
  for (std::int64_t a = 1; a < rank; ++a)
    if (std::find(options_.shared_axes.begin(), options_.shared_axes.end(), a) == options_.shared_axes.end())
      spec.axes[a] = input_shape[a];
  alpha_ = add_weight("alpha", alpha_shape,
                      {.initializer = options_.alpha_initializer,
                       .regularizer = options_.alpha_regularizer,
                       .constraint = options_.alpha_constraint});
  set_input_spec(std::move(spec));
}

Tensor PReLULayer::call(const Tensor& x, const CallContext&) {
  return ops::relu(x) - alpha_.value() * ops::relu(-x);
}

nlohmann::json PReLULayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["alpha_initializer"] = options_.alpha_initializer.serialize();
  c["alpha_regularizer"] = options_.alpha_regularizer.serialize();
  c["alpha_constraint"] = options_.alpha_constraint.serialize();
  c["shared_axes"] = options_.shared_axes.empty() ? nlohmann::json() : nlohmann::json(options_.shared_axes);
  return c;
}

std::shared_ptr<PReLULayer> PReLULayer::from_config(const nlohmann::json& c) {
  return make_from_config<PReLULayer>("PReLU", c, [](config::ConfigReader& r) -> Options {
    Options o;
    if (r.contains("alpha_initializer")) o.alpha_initializer = initializers::deserialize(r.value("alpha_initializer"));
    o.alpha_regularizer = regularizers::deserialize(r.value("alpha_regularizer"));
    o.alpha_constraint = constraints::deserialize(r.value("alpha_constraint"));
    if (const nlohmann::json& axes = r.value("shared_axes"); axes.is_number_integer())
      o.shared_axes = {config::integer_in(r, "shared_axes", axes)};
    else if (!axes.is_null())
      o.shared_axes = r.integers("shared_axes", {});
    return o;
  });
}

Ref<PReLULayer> PReLU(PReLULayer::Options options, std::string name) {
  return std::make_shared<PReLULayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
