#include "keel/layers/concatenate.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"

namespace keel::layers {

ConcatenateLayer::ConcatenateLayer(Options options, std::string name)
    : Layer("Concatenate", std::move(name)), options_(options) {}

Shape ConcatenateLayer::concatenated_shape(const std::vector<Shape>& shapes) const {
  std::string all;
  for (const auto& s : shapes) all += (all.empty() ? "" : ", ") + to_string(s);
  if (shapes.empty())
    throw ValueError(fmt::format("Concatenate '{}' should be called on a list of at least 1 input, got 0", name()));
  const auto rank = static_cast<std::int64_t>(shapes[0].size());
  const std::int64_t axis = options_.axis < 0 ? options_.axis + rank : options_.axis;
  if (axis < 1 || axis >= rank)
    throw ValueError(fmt::format("Concatenate '{}': axis {} is out of range for inputs of shapes [{}] (the batch axis "
                                 "cannot be joined)",
                                 name(), options_.axis, all));
  Shape out = shapes[0];
  for (std::size_t i = 1; i < shapes.size(); ++i) {
    bool fits = static_cast<std::int64_t>(shapes[i].size()) == rank;
    for (std::int64_t a = 0; fits && a < rank; ++a) fits = a == axis || shapes[i][a] == shapes[0][a];
    if (!fits)
      throw ValueError(fmt::format("Concatenate '{}' requires inputs with matching shapes except for the "
                                   "concatenation axis {}; got shapes [{}]",
                                   name(), options_.axis, all));
    out[axis] += shapes[i][axis];
  }
  return out;
}

void ConcatenateLayer::build_list(const std::vector<Shape>& input_shapes) { concatenated_shape(input_shapes); }

Tensor ConcatenateLayer::call(const Tensor& x, const CallContext& ctx) { return call_list({x}, ctx); }

Tensor ConcatenateLayer::call_list(const std::vector<Tensor>& inputs, const CallContext&) {
  std::vector<Shape> shapes;
  for (const Tensor& x : inputs) shapes.push_back(x.shape());
  concatenated_shape(shapes);
  return inputs.size() == 1 ? inputs[0] : ops::concat(inputs, options_.axis);
}

nlohmann::json ConcatenateLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axis"] = options_.axis;
  return c;
}

std::shared_ptr<ConcatenateLayer> ConcatenateLayer::from_config(const nlohmann::json& c) {
  return make_from_config<ConcatenateLayer>("Concatenate", c, [](config::ConfigReader& r) -> Options {
    return {.axis = r.integer("axis", -1)};
  });
}

Ref<ConcatenateLayer> Concatenate(ConcatenateLayer::Options options, std::string name) {
  return std::make_shared<ConcatenateLayer>(options, std::move(name));
}

}  // namespace keel::layers
