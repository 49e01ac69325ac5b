#include "keel/models/sequential.h"

#include <fmt/format.h>

#include <typeinfo>

#include "keel/autograd/grad_mode.h"
#include "keel/core/error.h"
#include "keel/layers/activation_layer.h"
#include "keel/layers/pooling2d.h"
#include "keel/layers/registry.h"

namespace keel {
namespace {

// max(relu(a), relu(b)) == relu(max(a, b)) bit for bit (NaN and signed zeros included), and their
// gradients reach the same inputs. So an Activation("relu") followed by MaxPooling2D runs as the
// pooling first, then the ReLU on a tensor a quarter the size (for 2x2 windows). Nothing a user sees
// changes. Only the exact keel classes qualify: a subclass may do more in call().
bool relu_before_max_pool(const layers::Layer& first, const layers::Layer& second) {
  if (typeid(first) != typeid(layers::ActivationLayer) || typeid(second) != typeid(layers::MaxPooling2DLayer))
    return false;
  return static_cast<const layers::ActivationLayer&>(first).options().activation.is_builtin_relu() && first.built() &&
         second.built();
}

}  // namespace

Sequential::Sequential(std::vector<layers::LayerPtr> layers, std::string name) : Model("Sequential", std::move(name)) {
  for (auto& layer : layers) add(std::move(layer));
}

void Sequential::add(layers::LayerPtr layer) {
  if (!layer) throw ValueError(fmt::format("Sequential '{}': cannot add a null layer", this->name()));
  if (built()) throw UsageError(fmt::format("Sequential '{}': cannot add '{}' after the model is built", this->name(), layer->name()));
  // An Input first is kept apart, as in Keras: it declares the input shape but is not one of
  // layers(), so weight paths and indices are the same whether a model starts with an Input or not.
  if (layer->declared_input_shape()) {
    if (input_ || !layers_.empty())
      throw ValueError(fmt::format("Sequential '{}': an Input layer ('{}') can only come first", this->name(), layer->name()));
    input_ = std::move(layer);
    return;
  }
  for (const auto& existing : layers_)
    if (existing->name() == layer->name())
      throw ValueError(fmt::format("Sequential '{}': a layer named '{}' is already in the model (names must be unique)",
                                   this->name(), layer->name()));
  layers_.push_back(std::move(layer));
}

bool Sequential::build_from_declared_input() {
  if (built()) return true;
  if (!input_ || layers_.empty()) return false;
  auto shape = input_->declared_input_shape();
  Shape full{1};  // the batch size is free; one sample builds the stack
  full.insert(full.end(), shape->begin(), shape->end());
  build_from(full);
  return true;
}

void Sequential::pop() {
  if (layers_.empty()) throw UsageError(fmt::format("Sequential '{}': pop() on an empty model", name()));
  if (built()) throw UsageError(fmt::format("Sequential '{}': cannot pop() after the model is built", name()));
  layers_.pop_back();
}

layers::LayerPtr Sequential::get_layer(const std::string& layer_name) const {
  for (const auto& layer : layers_)
    if (layer->name() == layer_name) return layer;
  std::string names;
  for (const auto& layer : layers_) names += (names.empty() ? "" : ", ") + layer->name();
  throw ValueError(fmt::format("Sequential '{}': no layer named '{}' (layers: {})", name(), layer_name, names));
}

void Sequential::build(const Shape& input_shape) {
  if (layers_.empty()) throw UsageError(fmt::format("Sequential '{}': cannot build a model without layers", name()));
  // Build every layer by running one sample through the stack in inference mode.
  Shape sample = input_shape;
  if (!sample.empty()) sample[0] = 1;
  Tensor x = Tensor::zeros(sample, dtype());
  NoGrad no_grad;
  if (input_) x = (*input_)(x, layers::CallContext{});
  for (const auto& layer : layers_) x = (*layer)(x, layers::CallContext{});
}

Tensor Sequential::call(const Tensor& x, const layers::CallContext& ctx) {
  Tensor h = input_ ? (*input_)(x, ctx) : x;  // the Input checks the shape and names itself
  layers::CallContext inner = ctx;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    if (i + 1 < layers_.size() && !inner.mask.defined() && relu_before_max_pool(*layers_[i], *layers_[i + 1])) {
      h = (*layers_[i])((*layers_[i + 1])(h, inner), inner);
      ++i;
      continue;
    }
    h = (*layers_[i])(h, inner);
    inner.mask = Tensor();  // masks apply to the first layer only
  }
  return h;
}

Shape Sequential::compute_output_shape(const Shape& input_shape) const {
  Shape s = input_shape;
  for (const auto& layer : layers_) s = layer->compute_output_shape(s);
  return s;
}

nlohmann::json Sequential::get_config() const {
  nlohmann::json config = Layer::get_config();
  config["layers"] = nlohmann::json::array();
  if (input_) config["layers"].push_back(input_->serialize());
  for (const auto& layer : layers_) config["layers"].push_back(layer->serialize());
  if (built()) config["build_input_shape"] = built_input_shape();
  return config;
}

std::shared_ptr<Sequential> Sequential::from_config(const nlohmann::json& config) {
  std::vector<layers::LayerPtr> inner;
  for (const auto& item : config.at("layers")) inner.push_back(layers::deserialize(item));
  auto model = std::make_shared<Sequential>(std::move(inner), config.value("name", std::string()));
  // Only the container's own flag: each inner layer's config already restored its own (a base trainable
  // with its lower layers frozen), and Model::set_trainable would overwrite them.
  if (config.contains("trainable")) model->Layer::set_trainable(config["trainable"].get<bool>());
  if (config.contains("build_input_shape")) model->build_from(config["build_input_shape"].get<Shape>());
  return model;
}

}  // namespace keel
