#include "keel/layers/input.h"

#include <fmt/format.h>

#include "keel/core/error.h"

namespace keel::layers {

InputLayer::InputLayer(Options options, std::string name) : Layer("InputLayer", std::move(name)), options_(std::move(options)) {
  for (std::int64_t d : options_.shape)
    if (d <= 0 && d != -1)
      throw ValueError(fmt::format("InputLayer '{}': shape sizes must be positive or -1, got {}", this->name(),
                                   to_string(options_.shape)));
  if (options_.dtype && *options_.dtype == DType::boolean)
    throw ValueError(fmt::format("InputLayer '{}': dtype must be float32, float64 or int64, got bool", this->name()));
  // An input is never rounded: under mixed_bfloat16 the layers it feeds round what they read.
  set_dtype(options_.dtype && is_floating(*options_.dtype) ? *options_.dtype
                                                            : mixed_precision::global_policy().variable_dtype());
}

DType InputLayer::input_dtype() const {
  return options_.dtype && !is_floating(*options_.dtype) ? *options_.dtype : dtype();
}

void InputLayer::check_shape(const Shape& s) const {
  bool fits = s.size() == options_.shape.size() + 1;
  for (std::size_t a = 0; fits && a < options_.shape.size(); ++a)
    fits = options_.shape[a] == -1 || options_.shape[a] == s[a + 1];
  if (!fits)
    throw ShapeError(fmt::format("InputLayer '{}': expected inputs of shape [batch] + {}, got {}", name(),
                                 to_string(options_.shape), to_string(s)));
}

Tensor InputLayer::call(const Tensor& x, const CallContext&) {
  check_shape(x.shape());
  return x;
}

Shape InputLayer::compute_output_shape(const Shape& input_shape) const {
  check_shape(input_shape);
  return input_shape;
}

nlohmann::json InputLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["shape"] = options_.shape;
  c["dtype"] = dtype_name(input_dtype());  // as Keras: the inputs' dtype, "int64" for index inputs
  return c;
}

std::shared_ptr<InputLayer> InputLayer::from_config(const nlohmann::json& c) {
  // An integer dtype is the inputs', which the layer keeps apart from its own (float) dtype.
  nlohmann::json floating = c;
  std::optional<DType> input_dtype;
  if (c.is_object() && c.contains("dtype") && c["dtype"] == dtype_name(DType::int64)) {
    input_dtype = DType::int64;
    floating.erase("dtype");
  }
  return make_from_config<InputLayer>("InputLayer", floating, [&](config::ConfigReader& r) -> Options {
    return {.shape = r.integers("shape", {}), .dtype = input_dtype};
  });
}

Ref<InputLayer> Input(InputLayer::Options options, std::string name) {
  return std::make_shared<InputLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
