#include "keel/layers/relu.h"

#include "keel/autograd/ops.h"
#include "keel/layers/detail/argument_checks.h"

namespace keel::layers {

ReLULayer::ReLULayer(Options options, std::string name) : Layer("ReLU", std::move(name)), options_(options) {
  if (options_.max_value) detail::require_non_negative(*this, "max_value", *options_.max_value);
  detail::require_non_negative(*this, "negative_slope", options_.negative_slope);
  detail::require_non_negative(*this, "threshold", options_.threshold);
}

Tensor ReLULayer::call(const Tensor& x, const CallContext&) {
  const auto& [max_value, slope, threshold] = options_;
  if (slope == 0.0 && threshold == 0.0) {
    if (!max_value) return ops::relu(x);
    if (*max_value == 6.0) return ops::relu6(x);
  }
  Tensor positive = threshold == 0.0 ? ops::relu(x)
                                     : ops::where(ops::greater(x, ops::scalar_like(x, threshold)), x,
                                                  ops::scalar_like(x, 0.0));
  if (max_value) positive = ops::minimum(positive, ops::scalar_like(x, *max_value));
  if (slope == 0.0) return positive;
  return positive - ops::relu(threshold - x) * slope;
}

nlohmann::json ReLULayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["max_value"] = options_.max_value ? nlohmann::json(*options_.max_value) : nlohmann::json();
  c["negative_slope"] = options_.negative_slope;
  c["threshold"] = options_.threshold;
  return c;
}

std::shared_ptr<ReLULayer> ReLULayer::from_config(const nlohmann::json& c) {
  return make_from_config<ReLULayer>("ReLU", c, [](config::ConfigReader& r) -> Options {
    return {.max_value = r.optional_number("max_value"),
            .negative_slope = r.number("negative_slope", 0.0),
            .threshold = r.number("threshold", 0.0)};
  });
}

Ref<ReLULayer> ReLU(ReLULayer::Options options, std::string name) {
  return std::make_shared<ReLULayer>(options, std::move(name));
}

}  // namespace keel::layers
