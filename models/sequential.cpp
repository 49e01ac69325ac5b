#include "keel/models/sequential.h"

#include <fmt/format.h>

#include <algorithm>

#include "keel/autograd/grad_mode.h"
#include "keel/core/config_reader.h"
#include "keel/core/error.h"
#include "keel/layers/input.h"
#include "keel/layers/layer_options.h"
#include "keel/layers/registry.h"
#include "keel/models/functional.h"
#include "keel/models/saving.h"

namespace keel {
namespace {

// layers::deserialize knows Sequential from the moment the library is loaded, so
// layers::deserialize(model->serialize()) works without a save or load first.
[[maybe_unused]] const bool registered_with_layers = (register_model_classes(), true);

}  // namespace

Sequential::Sequential(std::vector<layers::LayerPtr> layers, std::string name) : Model("Sequential", std::move(name)) {
  for (auto& layer : layers) append(std::move(layer));
  build_from_declared_input();
}

void Sequential::append(layers::LayerPtr layer) {
  if (!layer) throw ValueError(fmt::format("Sequential '{}': cannot add a null layer", this->name()));
  // An Input first is kept apart, as in Keras: it declares the input shape but is not one of
  // layers(), so weight paths and indices are the same whether a model starts with an Input or not.
  if (layer->declared_input_shape()) {
    if (input_ || !layers_.empty() || built())
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

void Sequential::add(layers::LayerPtr layer) {
  const bool is_input = layer && layer->declared_input_shape();
  append(std::move(layer));
  try {
    if (built())
      rebuild_graph(built_input_shape());
    else
      build_from_declared_input();
  } catch (...) {
    if (is_input)
      input_.reset();
    else
      layers_.pop_back();
    throw;
  }
}

bool Sequential::build_from_declared_input() {
  if (built()) return true;
  if (!input_ || layers_.empty()) return false;
  auto shape = input_->declared_input_shape();
  // A free size (-1) is known only from data: the first call builds.
  if (std::find(shape->begin(), shape->end(), -1) != shape->end()) return false;
  Shape full{1};  // the batch size is free; one sample builds the stack
  full.insert(full.end(), shape->begin(), shape->end());
  build_from(full);
  return true;
}

layers::LayerPtr Sequential::pop() {
  if (layers_.empty()) throw UsageError(fmt::format("Sequential '{}': pop() on an empty model", name()));
  layers::LayerPtr last = std::move(layers_.back());
  layers_.pop_back();
  if (built()) rebuild_graph(built_input_shape());
  return last;
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
  rebuild_graph(input_shape);
}

void Sequential::rebuild_graph(const Shape& input_shape) {
  if (layers_.empty()) {
    graph_.reset();
    return;
  }
  const Shape sample(input_shape.begin() + (input_shape.empty() ? 0 : 1), input_shape.end());
  std::shared_ptr<layers::InputLayer> input = std::dynamic_pointer_cast<layers::InputLayer>(input_);
  if (!input) {
    input = layers::Input({.shape = sample}, name() + "_input");
    input->set_dtype(dtype());
  }
  const SymbolicTensor inputs = Input(input, sample);
  SymbolicTensor x = inputs;
  for (const auto& layer : layers_) x = (*layer)(x);
  graph_ = std::make_shared<Functional>(std::vector<SymbolicTensor>{inputs}, std::vector<SymbolicTensor>{x}, name());
}

Tensor Sequential::call(const Tensor& x, const layers::CallContext& ctx) {
  if (!graph_) return input_ ? (*input_)(x, ctx) : x;  // every layer popped
  return graph_->call_all({x}, ctx)[0];
}

Shape Sequential::compute_output_shape(const Shape& input_shape) const {
  Shape s = input_shape;
  for (const auto& layer : layers_) s = layer->compute_output_shape(s);
  return s;
}

namespace {

// The first layer that is built, looking inside containers; null when none is.
const layers::Layer* first_built(const layers::Layer& layer) {
  if (layer.built()) return &layer;
  for (const auto& inner : layer.sublayers())
    if (const layers::Layer* found = first_built(*inner)) return found;
  return nullptr;
}

}  // namespace

void Sequential::set_dtype(DType dtype) {
  if (const layers::Layer* built_layer = first_built(*this))
    throw UsageError(fmt::format("Sequential '{}': set_dtype({}) must come before the model is built, and '{}' is built",
                                 name(), dtype_name(dtype), built_layer->name()));
  Layer::set_dtype(dtype);
  if (input_) input_->set_dtype(dtype);
  for (const auto& layer : layers_) layer->set_dtype(dtype);
}

nlohmann::json Sequential::get_config() const {
  nlohmann::json config = Layer::get_config();
  config["layers"] = nlohmann::json::array();
  if (input_) config["layers"].push_back(input_->serialize());
  for (const auto& layer : layers_) config["layers"].push_back(layer->serialize());
  if (built() && !layers_.empty()) config["build_input_shape"] = built_input_shape();
  return config;
}

std::shared_ptr<Sequential> Sequential::from_config(const nlohmann::json& config) {
  config::ConfigReader reader(config, "Sequential");
  const layers::BaseConfig base = layers::read_base_config(reader);
  const nlohmann::json& items = reader.value("layers");
  const Shape build_input_shape = reader.integers("build_input_shape", {});
  reader.finish();
  if (!items.is_array()) reader.fail("layers", "must be a list of serialized layers", items);
  for (std::int64_t d : build_input_shape)
    if (d <= 0 && d != -1)
      reader.fail("build_input_shape", "must hold positive sizes or -1 (free)", config["build_input_shape"]);
  std::vector<layers::LayerPtr> inner;
  for (const auto& item : items) inner.push_back(layers::deserialize(item));
  auto model = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{}, base.name);
  if (base.dtype) model->set_dtype_policy(*base.dtype);  // the layers carry their own policies
  for (auto& layer : inner) model->append(std::move(layer));
  model->build_from_declared_input();
  // Only the container's own flag: each inner layer's config already restored its own (a base trainable
  // with its lower layers frozen), and set_trainable would overwrite them.
  if (base.trainable) model->set_own_trainable(*base.trainable);
  if (!build_input_shape.empty()) model->build_from(build_input_shape);
  return model;
}

}  // namespace keel
