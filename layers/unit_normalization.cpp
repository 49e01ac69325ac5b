#include "keel/layers/unit_normalization.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/layers/detail/axis_list.h"

namespace keel::layers {

UnitNormalizationLayer::UnitNormalizationLayer(Options options, std::string name)
    : Layer("UnitNormalization", std::move(name)), options_(std::move(options)) {
  if (options_.axis.empty())
    throw ValueError(fmt::format("UnitNormalization '{}': axis must name at least one axis, got []", this->name()));
}

void UnitNormalizationLayer::build(const Shape& input_shape) {
  axes_ = detail::resolve_axes(*this, options_.axis, input_shape);
  set_input_spec({.ndim = static_cast<std::int64_t>(input_shape.size())});
}

Tensor UnitNormalizationLayer::call(const Tensor& x, const CallContext&) {
  const Tensor square_sum = ops::sum(ops::square(x), axes_, true);
  return x / ops::sqrt(ops::maximum(square_sum, ops::scalar_like(x, 1e-12)));
}

nlohmann::json UnitNormalizationLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axis"] = detail::axis_list_to_json(options_.axis);
  return c;
}

std::shared_ptr<UnitNormalizationLayer> UnitNormalizationLayer::from_config(const nlohmann::json& c) {
  return make_from_config<UnitNormalizationLayer>("UnitNormalization", c, [](config::ConfigReader& r) -> Options {
    return {.axis = detail::read_axis_list(r, "axis", {-1})};
  });
}

Ref<UnitNormalizationLayer> UnitNormalization(UnitNormalizationLayer::Options options, std::string name) {
  return std::make_shared<UnitNormalizationLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
