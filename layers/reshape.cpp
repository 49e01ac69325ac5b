#include "keel/layers/reshape.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"

namespace keel::layers {

ReshapeLayer::ReshapeLayer(Options options, std::string name)
    : Layer("Reshape", std::move(name)), options_(std::move(options)) {
  int unknown = 0;
  for (std::int64_t d : options_.target_shape) {
    if (d == -1) ++unknown;
    else if (d <= 0) unknown = 2;
  }
  if (options_.target_shape.empty() || unknown > 1)
    throw ValueError(fmt::format("Reshape '{}': target_shape must be non-empty positive sizes with at most one -1, got {}",
                                 this->name(), to_string(options_.target_shape)));
  set_input_spec({.min_ndim = 1});
}

Tensor ReshapeLayer::call(const Tensor& x, const CallContext&) { return ops::reshape(x, compute_output_shape(x.shape())); }

Shape ReshapeLayer::compute_output_shape(const Shape& s) const {
  if (s.empty()) throw ShapeError(fmt::format("Reshape '{}': expected an input with a batch axis, got a scalar", name()));
  std::int64_t in = 1, known = 1;
  for (std::size_t a = 1; a < s.size(); ++a) in *= s[a];
  for (std::int64_t d : options_.target_shape)
    if (d != -1) known *= d;
  Shape out{s[0]};
  for (std::int64_t d : options_.target_shape) out.push_back(d == -1 ? (known > 0 ? in / known : 0) : d);
  std::int64_t produced = 1;
  for (std::size_t a = 1; a < out.size(); ++a) produced *= out[a];
  if (produced != in)
    throw ShapeError(fmt::format("Reshape '{}': cannot reshape input {} ({} values per sample) to target_shape {}",
                                 name(), to_string(s), in, to_string(options_.target_shape)));
  return out;
}

nlohmann::json ReshapeLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["target_shape"] = options_.target_shape;
  return c;
}

std::shared_ptr<ReshapeLayer> ReshapeLayer::from_config(const nlohmann::json& c) {
  return make_from_config<ReshapeLayer>("Reshape", c, [](config::ConfigReader& r) -> Options {
    return {.target_shape = r.integers("target_shape", {})};
  });
}

Ref<ReshapeLayer> Reshape(ReshapeLayer::Options options, std::string name) {
  return std::make_shared<ReshapeLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
