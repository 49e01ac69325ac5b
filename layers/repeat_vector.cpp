#include "keel/layers/repeat_vector.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"

namespace keel::layers {

RepeatVectorLayer::RepeatVectorLayer(Options options, std::string name)
    : Layer("RepeatVector", std::move(name)), options_(options) {
  require_positive(*this, "n", options_.n);
}

void RepeatVectorLayer::build(const Shape& input_shape) {
  compute_output_shape(input_shape);  // checks the rank
  set_input_spec({.ndim = 2});
}

Shape RepeatVectorLayer::compute_output_shape(const Shape& input_shape) const {
  if (input_shape.size() != 2)
    throw ShapeError(fmt::format("RepeatVector '{}': expected an input of rank 2 [batch, features], got shape {}", name(),
                                 to_string(input_shape)));
  return {input_shape[0], options_.n, input_shape[1]};
}

Tensor RepeatVectorLayer::call(const Tensor& x, const CallContext&) {
  return ops::contiguous(ops::broadcast_to(ops::unsqueeze(x, 1), compute_output_shape(x.shape())));
}

nlohmann::json RepeatVectorLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["n"] = options_.n;
  return c;
}

std::shared_ptr<RepeatVectorLayer> RepeatVectorLayer::from_config(const nlohmann::json& c) {
  return make_from_config<RepeatVectorLayer>("RepeatVector", c, [](config::ConfigReader& r) -> Options {
    return {.n = r.integer("n", 1)};
  });
}

Ref<RepeatVectorLayer> RepeatVector(RepeatVectorLayer::Options options, std::string name) {
  return std::make_shared<RepeatVectorLayer>(options, std::move(name));
}

}  // namespace keel::layers
