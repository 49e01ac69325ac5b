#include "keel/models/functional.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "keel/autograd/grad_mode.h"
#include "keel/core/config_reader.h"
#include "keel/core/error.h"
#include "keel/layers/batch_norm_max_pool.h"
#include "keel/layers/layer_options.h"
#include "keel/layers/registry.h"
#include "keel/models/detail/graph_step.h"
#include "keel/models/detail/batch_norm_max_pool_pass.h"
#include "keel/models/detail/relu_max_pool_pass.h"
#include "keel/models/saving.h"

namespace keel {
namespace {

// The symbolic tensor of an InputLayer: its node has no inputs, its sample is one zero sample. A size
// the layer leaves free (-1) is taken from `sizes` (the per-sample shape of a real input), when given;
// otherwise it stays free, traced by the sample and its probe at two sizes.
SymbolicTensor input_tensor(const std::shared_ptr<layers::InputLayer>& layer, const Shape& sizes = {}) {
  const Shape& declared = layer->input_shape();
  Shape sample_shape{1}, probe_shape{1};
  bool free = false;
  for (std::size_t i = 0; i < declared.size(); ++i) {
    std::int64_t d = declared[i];
    if (d == -1 && sizes.size() == declared.size()) d = sizes[i];
    free = free || d == -1;
    sample_shape.push_back(d == -1 ? SymbolicTensor::free_size_in_sample : d);
    probe_shape.push_back(d == -1 ? 2 * SymbolicTensor::free_size_in_sample : d);
  }
  // Each free size doubles in the probe: bound what tracing allocates (5 free sizes would need 2^30 elements).
  constexpr std::int64_t max_probe_elements = std::int64_t{1} << 24;
  std::int64_t probe_elements = 1;
  for (std::int64_t d : probe_shape)
    probe_elements = d > max_probe_elements / probe_elements ? max_probe_elements + 1 : probe_elements * d;
  if (free && probe_elements > max_probe_elements)
    throw ValueError(fmt::format("Input '{}': tracing shape {} with its free sizes at {} needs a sample of more "
                                 "than {} elements (too many free sizes)",
                                 layer->name(), to_string(declared), 2 * SymbolicTensor::free_size_in_sample,
                                 max_probe_elements));
  auto node = std::make_shared<layers::Node>(layers::Node{layer, {}, std::nullopt, {}});
  const DType dtype = layer->input_dtype();
  SymbolicTensor t = SymbolicTensor::produced_by(node, Tensor::zeros(sample_shape, dtype),
                                                 free ? Tensor::zeros(probe_shape, dtype) : Tensor());
  node->output_shape = t.shape();
  return t;
}

bool is_input_node(const layers::Node& node) {
  return node.inputs.empty() && dynamic_cast<const layers::InputLayer*>(node.layer.get()) != nullptr;
}

// The graph between a model's inputs and outputs, in Keras's orders (keras/src/ops/function.py, _build_map).
struct GraphMap {
  std::vector<std::shared_ptr<layers::Node>> nodes;  // post-order from the outputs: each after its inputs
  std::vector<SymbolicTensor> outputs;               // each node's output tensor
  std::vector<layers::LayerPtr> layers;              // by depth from the inputs, ties by traversal order
};

GraphMap map_graph(const std::vector<SymbolicTensor>& outputs, const std::string& model) {
  GraphMap map;
  std::set<const layers::Node*> finished, in_progress;
  std::map<const layers::Layer*, std::size_t> traversal_index;
  std::vector<layers::LayerPtr> by_traversal;
  auto visit = [&](auto&& self, const SymbolicTensor& t) -> void {
    const auto& node = t.node();
    if (finished.count(node.get())) return;
    if (in_progress.count(node.get()))
      throw ValueError(fmt::format("Functional '{}': layer '{}' is part of a cycle", model, node->layer->name()));
    if (traversal_index.emplace(node->layer.get(), by_traversal.size()).second) by_traversal.push_back(node->layer);
    in_progress.insert(node.get());
    for (const auto& input : node->inputs) self(self, input);
    in_progress.erase(node.get());
    finished.insert(node.get());
    map.nodes.push_back(node);
    map.outputs.push_back(t);
  };
  for (const auto& out : outputs) visit(visit, out);

  // Depths: outputs' nodes 0, every node one more than its deepest consumer; a layer takes its deepest node's.
  std::map<const layers::Node*, std::int64_t> node_depth;
  std::map<const layers::Layer*, std::int64_t> layer_depth;
  for (auto it = map.nodes.rbegin(); it != map.nodes.rend(); ++it) {
    const layers::Node* node = it->get();
    const std::int64_t depth = std::max(node_depth[node], layer_depth[node->layer.get()]);
    layer_depth[node->layer.get()] = depth;
    node_depth[node] = depth;
    for (const auto& input : node->inputs) {
      auto& d = node_depth[input.node().get()];
      d = std::max(d, depth + 1);
    }
  }
  map.layers = by_traversal;
  std::stable_sort(map.layers.begin(), map.layers.end(), [&](const layers::LayerPtr& a, const layers::LayerPtr& b) {
    const std::int64_t da = layer_depth[a.get()], db = layer_depth[b.get()];
    return da != db ? da > db : traversal_index[a.get()] < traversal_index[b.get()];
  });
  return map;
}

std::string tensor_origin(const SymbolicTensor& t) {
  return fmt::format("the output of {} '{}' (shape {})", t.node()->layer->class_name(), t.node()->layer->name(),
                     to_string(t.shape()));
}

}  // namespace

SymbolicTensor Input(InputOptions options) {
  return input_tensor(layers::Input({.shape = options.shape, .dtype = options.dtype}, options.name));
}

SymbolicTensor Input(const std::shared_ptr<layers::InputLayer>& layer, const Shape& sizes) {
  return input_tensor(layer, sizes);
}

layers::Ref<Functional> Model::functional(const SymbolicTensor& inputs, const SymbolicTensor& outputs, std::string name) {
  return std::make_shared<Functional>(std::vector<SymbolicTensor>{inputs}, std::vector<SymbolicTensor>{outputs},
                                      std::move(name));
}

layers::Ref<Functional> Model::functional(std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs,
                                          std::string name) {
  return std::make_shared<Functional>(std::move(inputs), std::move(outputs), std::move(name));
}

Functional::Functional(std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs, std::string name)
    : Model("Functional", std::move(name)), inputs_(std::move(inputs)), outputs_(std::move(outputs)) {
  if (inputs_.empty() || outputs_.empty())
    throw ValueError(fmt::format("Functional '{}': needs at least one input and one output, got {} and {}",
                                 this->name(), inputs_.size(), outputs_.size()));
  std::map<const void*, std::size_t> slot_of;
  for (std::size_t i = 0; i < inputs_.size(); ++i) {
    const SymbolicTensor& in = inputs_[i];
    if (!in.defined()) throw ValueError(fmt::format("Functional '{}': input {} is undefined", this->name(), i));
    if (!is_input_node(*in.node()))
      throw ValueError(fmt::format("Functional '{}': input {} is {}; model inputs must come from keel::Input",
                                   this->name(), i, tensor_origin(in)));
    if (!slot_of.emplace(in.id(), slot_count_).second)
      throw ValueError(fmt::format("Functional '{}': input '{}' is given twice", this->name(), in.node()->layer->name()));
    input_slots_.push_back(slot_count_++);
  }
  for (std::size_t i = 0; i < outputs_.size(); ++i)
    if (!outputs_[i].defined()) throw ValueError(fmt::format("Functional '{}': output {} is undefined", this->name(), i));

  GraphMap map = map_graph(outputs_, this->name());
  layers_ = std::move(map.layers);
  std::set<std::string> names;
  for (const auto& layer : layers_)
    if (!names.insert(layer->name()).second)
      throw ValueError(fmt::format("Functional '{}': two layers are named '{}'; layer names in a model must be unique",
                                   this->name(), layer->name()));
  // Every node's output gets a slot; input nodes must be the model's inputs (else the graph is disconnected).
  std::map<const layers::Node*, std::size_t> output_of;
  for (std::size_t i = 0; i < inputs_.size(); ++i) output_of[inputs_[i].node().get()] = input_slots_[i];
  for (std::size_t n = 0; n < map.nodes.size(); ++n) {
    const auto& node = map.nodes[n];
    if (node->inputs.empty()) {
      if (!output_of.count(node.get()))
        throw ValueError(fmt::format("Functional '{}': the graph is disconnected: {} '{}' feeds the outputs but is not "
                                     "one of the model's inputs",
                                     this->name(), node->layer->class_name(), node->layer->name()));
      continue;
    }
    models::detail::GraphStep step{.node = node, .inputs = {}, .output = slot_count_++};
    for (const auto& in : node->inputs) {
      step.inputs.push_back(output_of.at(in.node().get()));
      step.reads_model_input = step.reads_model_input || std::find(input_slots_.begin(), input_slots_.end(),
                                                                   step.inputs.back()) != input_slots_.end();
    }
    output_of[node.get()] = step.output;
    steps_.push_back(std::move(step));
    nodes_.push_back(node);
    node_outputs_.push_back(map.outputs[n]);
  }
  for (std::size_t i = 0; i < inputs_.size(); ++i) {
    bool used = false;
    for (const auto& node : map.nodes) used = used || node == inputs_[i].node();
    if (!used)
      throw ValueError(fmt::format("Functional '{}': input '{}' is not connected to any output", this->name(),
                                   inputs_[i].node()->layer->name()));
  }
  for (const auto& out : outputs_) output_slots_.push_back(output_of.at(out.node().get()));
  models::detail::reorder_relu_before_max_pool(steps_, output_slots_);
  models::detail::fold_batch_norm_into_max_pool(steps_, output_slots_);
  // Free each intermediate tensor after its last reader (inference keeps only what is still needed).
  std::vector<std::optional<std::size_t>> last_reader(slot_count_);
  for (std::size_t s = 0; s < steps_.size(); ++s)
    for (std::size_t slot : steps_[s].inputs) last_reader[slot] = s;
  for (std::size_t slot = 0; slot < slot_count_; ++slot)
    if (last_reader[slot] && std::find(output_slots_.begin(), output_slots_.end(), slot) == output_slots_.end())
      steps_[*last_reader[slot]].last_uses.push_back(slot);
  if (is_floating(inputs_[0].dtype())) Layer::set_dtype(inputs_[0].dtype());
  Shape built_shape = inputs_[0].shape();  // free sizes stay -1; the batch size is the samples' 1
  built_shape[0] = 1;
  build_from(built_shape);
}

Functional::~Functional() = default;

layers::LayerPtr Functional::get_layer(const std::string& layer_name) const {
  for (const auto& layer : layers_)
    if (layer->name() == layer_name) return layer;
  std::string names;
  for (const auto& layer : layers_) names += (names.empty() ? "" : ", ") + layer->name();
  throw ValueError(fmt::format("Functional '{}': no layer named '{}' (layers: {})", name(), layer_name, names));
}

SymbolicTensor Functional::output_of(const std::string& layer_name) const {
  for (const auto& in : inputs_)
    if (in.node()->layer->name() == layer_name) return in;
  std::optional<SymbolicTensor> found;
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    if (nodes_[n]->layer->name() != layer_name) continue;
    if (found)
      throw ValueError(fmt::format("Functional '{}': layer '{}' is called more than once in the model, so it has no "
                                   "single output",
                                   name(), layer_name));
    found = node_outputs_[n];
  }
  if (!found) {
    get_layer(layer_name);  // throws, listing the layers
    throw ValueError(fmt::format("Functional '{}': layer '{}' has no call in the model", name(), layer_name));
  }
  return *found;
}

std::vector<Tensor> Functional::call_all(const std::vector<Tensor>& inputs, const layers::CallContext& ctx) {
  if (inputs.size() != inputs_.size())
    throw ValueError(fmt::format("Functional '{}' expects {} inputs, got {}", name(), inputs_.size(), inputs.size()));
  CallScope scope(*this, ctx);
  std::vector<Tensor> slots(slot_count_);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto& input_layer = inputs_[i].node()->layer;
    slots[input_slots_[i]] = (*input_layer)(inputs[i], ctx);  // checks the shape, naming the Input
  }
  for (const models::detail::GraphStep& step : steps_) {
    layers::CallContext inner = ctx;
    if (step.node->training) inner.training = *step.node->training;
    if (!step.reads_model_input) inner.mask = Tensor();
    layers::Layer& layer = *step.node->layer;
    if (step.before) {
      layers::CallContext before = ctx;
      if (step.before->training) before.training = *step.before->training;
      before.mask = Tensor();
      slots[step.output] = layers::batch_norm_then_max_pool(
          static_cast<layers::BatchNormalizationLayer&>(*step.before->layer), before,
          static_cast<layers::MaxPooling2DLayer&>(layer), inner, slots[step.inputs[0]]);
    } else if (step.inputs.size() == 1 && !layer.takes_input_list()) {
      slots[step.output] = layer(slots[step.inputs[0]], inner);
    } else {
      std::vector<Tensor> args;
      for (std::size_t slot : step.inputs) args.push_back(slots[slot]);
      slots[step.output] = layer(args, inner);
    }
    if (step.then) slots[step.output] = (*step.then)(slots[step.output], inner);
    for (std::size_t slot : step.last_uses) slots[slot] = Tensor();
  }
  std::vector<Tensor> out;
  for (std::size_t slot : output_slots_) out.push_back(slots[slot]);
  return out;
}

std::vector<std::string> Functional::input_names() const {
  std::vector<std::string> names;
  for (const auto& input : inputs_) names.push_back(input.node()->layer->name());
  return names;
}

std::vector<std::string> Functional::output_names() const {
  std::vector<std::string> names;
  for (const auto& output : outputs_) names.push_back(output.node()->layer->name());
  return names;
}

Tensor Functional::call(const Tensor& x, const layers::CallContext& ctx) { return call_list({x}, ctx); }

Tensor Functional::call_list(const std::vector<Tensor>& inputs, const layers::CallContext& ctx) {
  if (outputs_.size() != 1)
    throw UsageError(fmt::format("Functional '{}' has {} outputs; call call_all() for all of them", name(),
                                 outputs_.size()));
  return call_all(inputs, ctx)[0];
}

void Functional::build_list(const std::vector<Shape>&) {}  // built when made

Shape Functional::compute_output_shape(const Shape& input_shape) const {
  Shape out = outputs_[0].shape();
  if (!out.empty() && !input_shape.empty()) out[0] = input_shape[0];
  return out;
}

void Functional::set_dtype(DType dtype) {
  throw UsageError(fmt::format("Functional '{}': set_dtype({}) after the model is built; a functional model is built "
                               "when it is made (give keel::Input a dtype, or set config::set_floatx first)",
                               name(), dtype_name(dtype)));
}

namespace {

// Where each node's output is, as Keras's keras_history: [layer name, node index within the layer, 0].
using NodeIndex = std::map<const layers::Node*, std::size_t>;

nlohmann::json tensor_reference(const SymbolicTensor& t, const NodeIndex& index) {
  const auto& node = t.node();
  nlohmann::json shape = nlohmann::json::array();
  for (std::int64_t d : t.shape()) shape.push_back(d == -1 ? nlohmann::json(nullptr) : nlohmann::json(d));
  return {{"class_name", "__keras_tensor__"},
          {"config", {{"shape", shape}, {"dtype", dtype_name(t.dtype())},
                      {"keras_history", {node->layer->name(), index.at(node.get()), 0}}}}};
}

}  // namespace

nlohmann::json Functional::get_config() const {
  NodeIndex index;
  std::map<const layers::Layer*, std::size_t> calls;
  for (const auto& in : inputs_) index[in.node().get()] = calls[in.node()->layer.get()]++;
  for (const auto& node : nodes_) index[node.get()] = calls[node->layer.get()]++;

  nlohmann::json config = Layer::get_config();
  config["layers"] = nlohmann::json::array();
  for (const auto& layer : layers_) {
    nlohmann::json entry = layer->serialize();
    entry["name"] = layer->name();
    entry["inbound_nodes"] = nlohmann::json::array();
    for (const auto& node : nodes_) {
      if (node->layer != layer) continue;
      nlohmann::json args = nlohmann::json::array();
      for (const auto& in : node->inputs) args.push_back(tensor_reference(in, index));
      if (args.size() > 1 || layer->takes_input_list()) args = nlohmann::json::array({args});
      nlohmann::json kwargs = nlohmann::json::object();
      if (node->training) kwargs["training"] = *node->training;
      entry["inbound_nodes"].push_back({{"args", args}, {"kwargs", kwargs}});
    }
    config["layers"].push_back(entry);
  }
  auto endpoints = [&](const std::vector<SymbolicTensor>& tensors) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& t : tensors) list.push_back({t.node()->layer->name(), index.at(t.node().get()), 0});
    return list;
  };
  config["input_layers"] = endpoints(inputs_);
  config["output_layers"] = endpoints(outputs_);
  return config;
}

namespace {

// [name, node index, tensor index] (Keras 3's keras_history, Keras 2's inbound entry without kwargs).
struct TensorRef {
  std::string layer;
  std::size_t node = 0;
};

TensorRef read_reference(const config::ConfigReader& reader, const nlohmann::json& j) {
  const nlohmann::json* history = &j;
  if (j.is_object()) {  // Keras 3: {"class_name": "__keras_tensor__", "config": {..., "keras_history": [...]}}
    if (!j.contains("config") || !j["config"].is_object() || !j["config"].contains("keras_history"))
      reader.fail("layers", "has an inbound tensor without keras_history", j);
    history = &j["config"]["keras_history"];
  }
  if (!history->is_array() || history->size() < 3 || !(*history)[0].is_string())
    reader.fail("layers", "has an inbound tensor that is not [layer, node, tensor]", j);
  const std::int64_t node = config::integer_in(reader, "layers", (*history)[1]);
  const std::int64_t tensor = config::integer_in(reader, "layers", (*history)[2]);
  if (node < 0 || tensor != 0)
    reader.fail("layers", "refers to a node or tensor index keel does not have (layers have one output)", j);
  return {(*history)[0].get<std::string>(), static_cast<std::size_t>(node)};
}

// One recorded call: its input references, whether they form a list, and its training flag.
struct NodeData {
  std::vector<TensorRef> inputs;
  std::optional<bool> training;
};

NodeData read_node(const config::ConfigReader& reader, const nlohmann::json& j) {
  NodeData data;
  if (j.is_object()) {  // Keras 3: {"args": [...], "kwargs": {...}}
    const nlohmann::json& args = j.contains("args") ? j["args"] : nlohmann::json::array();
    if (!args.is_array() || args.empty()) reader.fail("layers", "has a node without args", j);
    const nlohmann::json& first = args[0];
    if (first.is_array())
      for (const auto& t : first) data.inputs.push_back(read_reference(reader, t));
    else
      data.inputs.push_back(read_reference(reader, first));
    if (j.contains("kwargs") && j["kwargs"].is_object() && j["kwargs"].contains("training")) {
      const auto& training = j["kwargs"]["training"];
      if (!training.is_boolean() && !training.is_null()) reader.fail("layers", "has a non-boolean training kwarg", j);
      if (training.is_boolean()) data.training = training.get<bool>();
    }
  } else if (j.is_array()) {  // Keras 2: [["name", node, tensor, {kwargs}], ...]
    for (const auto& entry : j) {
      data.inputs.push_back(read_reference(reader, entry));
      if (entry.size() > 3 && entry[3].is_object() && entry[3].contains("training") && entry[3]["training"].is_boolean())
        data.training = entry[3]["training"].get<bool>();
    }
  } else {
    reader.fail("layers", "has a node that is neither {args, kwargs} nor a list", j);
  }
  if (data.inputs.empty()) reader.fail("layers", "has a node without inputs", j);
  return data;
}

std::vector<TensorRef> read_endpoints(const config::ConfigReader& reader, const std::string& key, const nlohmann::json& j) {
  if (!j.is_array() || j.empty()) reader.fail(key, "must be a list of [layer, node, tensor]", j);
  if (j[0].is_string()) return {read_reference(reader, j)};  // one endpoint, written flat
  std::vector<TensorRef> out;
  for (const auto& e : j) out.push_back(read_reference(reader, e));
  return out;
}

}  // namespace

std::shared_ptr<Functional> Functional::from_config(const nlohmann::json& config) {
  config::ConfigReader reader(config, "Functional");
  const layers::BaseConfig base = layers::read_base_config(reader);
  const nlohmann::json& items = reader.value("layers");
  const nlohmann::json& input_layers = reader.value("input_layers");
  const nlohmann::json& output_layers = reader.value("output_layers");
  reader.finish();
  if (!items.is_array() || items.empty()) reader.fail("layers", "must be a non-empty list of layers", items);

  // Layers first, then their calls in rounds: a call whose inputs exist runs; one that waits for another
  // layer's call is retried; a round without progress means a cycle or a missing layer.
  struct Pending {
    layers::LayerPtr layer;
    std::vector<NodeData> nodes;
    std::size_t done = 0;
  };
  std::vector<Pending> pending;
  std::map<std::string, std::vector<SymbolicTensor>> outputs_of;  // layer name -> its calls' outputs
  for (const auto& item : items) {
    if (!item.is_object() || !item.contains("class_name") || !item.contains("config"))
      reader.fail("layers", "must hold {class_name, config, name, inbound_nodes} objects", item);
    layers::LayerPtr layer = layers::deserialize({{"class_name", item["class_name"]}, {"config", item["config"]}});
    if (item.contains("name") && (!item["name"].is_string() || item["name"].get<std::string>() != layer->name()))
      reader.fail("layers", fmt::format("has an entry whose name differs from its config's ('{}')", layer->name()), item);
    if (outputs_of.count(layer->name())) reader.fail("layers", fmt::format("names '{}' twice", layer->name()), item);
    outputs_of[layer->name()];
    Pending p{layer, {}, 0};
    if (auto input = std::dynamic_pointer_cast<layers::InputLayer>(layer)) {
      outputs_of[layer->name()].push_back(input_tensor(input));
    } else {
      const nlohmann::json& nodes = item.contains("inbound_nodes") ? item["inbound_nodes"] : nlohmann::json::array();
      if (!nodes.is_array()) reader.fail("layers", "has inbound_nodes that are not a list", item);
      for (const auto& node : nodes) p.nodes.push_back(read_node(reader, node));
    }
    pending.push_back(std::move(p));
  }
  auto find = [&](const TensorRef& ref) -> const SymbolicTensor* {
    auto it = outputs_of.find(ref.layer);
    if (it == outputs_of.end())
      reader.fail("layers", fmt::format("refers to a layer '{}' that is not in the model", ref.layer), nullptr);
    return ref.node < it->second.size() ? &it->second[ref.node] : nullptr;
  };
  for (bool progress = true; progress;) {
    progress = false;
    for (auto& p : pending) {
      while (p.done < p.nodes.size()) {
        std::vector<SymbolicTensor> args;
        for (const auto& ref : p.nodes[p.done].inputs)
          if (const SymbolicTensor* t = find(ref)) args.push_back(*t);
        if (args.size() != p.nodes[p.done].inputs.size()) break;
        layers::CallOptions options{.training = p.nodes[p.done].training};
        outputs_of[p.layer->name()].push_back(args.size() == 1 && !p.layer->takes_input_list() ? (*p.layer)(args[0], options)
                                                                                               : (*p.layer)(args, options));
        ++p.done;
        progress = true;
      }
    }
  }
  for (const auto& p : pending)
    if (p.done < p.nodes.size())
      reader.fail("layers", fmt::format("has calls of '{}' whose inputs never exist (a cycle or a missing call)",
                                        p.layer->name()),
                  nullptr);
  auto endpoints = [&](const std::string& key, const nlohmann::json& j) {
    std::vector<SymbolicTensor> out;
    for (const auto& ref : read_endpoints(reader, key, j)) {
      const SymbolicTensor* t = find(ref);
      if (!t) reader.fail(key, fmt::format("refers to call {} of '{}', which does not exist", ref.node, ref.layer), j);
      out.push_back(*t);
    }
    return out;
  };
  auto model = std::make_shared<Functional>(endpoints("input_layers", input_layers),
                                            endpoints("output_layers", output_layers), base.name);
  // Only the model's own flag: each layer's config restored its own.
  if (base.trainable) model->set_own_trainable(*base.trainable);
  return model;
}

}  // namespace keel
