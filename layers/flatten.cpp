#include "keel/layers/flatten.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"

namespace keel::layers {

FlattenLayer::FlattenLayer(Options options, std::string name)
    : Layer("Flatten", std::move(name)), options_(std::move(options)) {
  channels_first_ = parse_data_format(*this, options_.data_format);
  set_input_spec({.min_ndim = 1});
}

Tensor FlattenLayer::call(const Tensor& x, const CallContext&) {
  Tensor v = x;
  if (channels_first_ && x.dim() >= 3) {
    std::vector<std::int64_t> to_last{0};
    for (std::int64_t a = 2; a < x.dim(); ++a) to_last.push_back(a);
    to_last.push_back(1);
    v = ops::permute(x, to_last);
  }
  return ops::reshape(v, compute_output_shape(x.shape()));
}

Shape FlattenLayer::compute_output_shape(const Shape& s) const {
  if (s.empty())
    throw ShapeError(fmt::format("Flatten '{}': expected an input with a batch axis, got a scalar", name()));
  std::int64_t features = 1;
  for (std::size_t a = 1; a < s.size(); ++a) features *= s[a];
  return {s[0], features};
}

nlohmann::json FlattenLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["data_format"] = options_.data_format;
  return c;
}

std::shared_ptr<FlattenLayer> FlattenLayer::from_config(const nlohmann::json& c) {
  return make_from_config<FlattenLayer>("Flatten", c, [](config::ConfigReader& r) -> Options {
    return {.data_format = r.string("data_format", "channels_last")};
  });
}

Ref<FlattenLayer> Flatten(FlattenLayer::Options options, std::string name) {
  return std::make_shared<FlattenLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
