#include "keel/layers/permute.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <numeric>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"

namespace keel::layers {

PermuteLayer::PermuteLayer(Options options, std::string name)
    : Layer("Permute", std::move(name)), options_(std::move(options)) {
  std::vector<std::int64_t> sorted = options_.dims, want(options_.dims.size());
  std::sort(sorted.begin(), sorted.end());
  std::iota(want.begin(), want.end(), 1);
  if (sorted != want)
    throw ValueError(fmt::format("Permute '{}': dims must be a permutation of 1 .. {} (the batch axis 0 stays), got {}",
                                 this->name(), options_.dims.size(), options_.dims));
}

void PermuteLayer::build(const Shape& input_shape) {
  const auto rank = static_cast<std::int64_t>(options_.dims.size()) + 1;
  if (static_cast<std::int64_t>(input_shape.size()) != rank)
    throw ShapeError(fmt::format("Permute '{}': dims {} needs an input of rank {}, got shape {}", name(), options_.dims,
                                 rank, to_string(input_shape)));
  set_input_spec({.ndim = rank});
}

Shape PermuteLayer::compute_output_shape(const Shape& input_shape) const {
  if (input_shape.size() != options_.dims.size() + 1)
    throw ShapeError(fmt::format("Permute '{}': dims {} needs an input of rank {}, got shape {}", name(), options_.dims,
                                 options_.dims.size() + 1, to_string(input_shape)));
  Shape out{input_shape[0]};
  for (std::int64_t d : options_.dims) out.push_back(input_shape[static_cast<std::size_t>(d)]);
  return out;
}

Tensor PermuteLayer::call(const Tensor& x, const CallContext&) {
  std::vector<std::int64_t> order{0};
  order.insert(order.end(), options_.dims.begin(), options_.dims.end());
  return ops::contiguous(ops::permute(x, order));
}

nlohmann::json PermuteLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["dims"] = options_.dims;
  return c;
}

std::shared_ptr<PermuteLayer> PermuteLayer::from_config(const nlohmann::json& c) {
  return make_from_config<PermuteLayer>("Permute", c, [](config::ConfigReader& r) -> Options {
    return {.dims = r.integers("dims", {})};
  });
}

Ref<PermuteLayer> Permute(PermuteLayer::Options options, std::string name) {
  return std::make_shared<PermuteLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
