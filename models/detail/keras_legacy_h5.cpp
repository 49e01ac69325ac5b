#include "keel/models/detail/keras_legacy_h5.h"

#include <fmt/format.h>

#include <map>
#include <string>
#include <vector>

#include "keel/autograd/grad_mode.h"
#include "keel/core/error.h"
#include "keel/layers/registry.h"
#include "keel/layers/weight_creation_check.h"
#include "keel/models/detail/keras_compile.h"
#include "keel/models/detail/keras_config.h"
#include "keel/models/saving.h"

namespace keel::keras {
namespace {

using io::hdf5::Group;

// Keras splits an attribute above 64 KiB into name0, name1, ...; read either form.
std::vector<std::string> chunked_strings(const Group& group, const std::string& name) {
  if (group.has_attribute(name)) return group.string_list_attribute(name);
  std::vector<std::string> out;
  for (int chunk = 0; group.has_attribute(name + std::to_string(chunk)); ++chunk)
    for (auto& s : group.string_list_attribute(name + std::to_string(chunk))) out.push_back(std::move(s));
  return out;
}

// "conv2d/kernel:0" and "kernel" both name the weight "kernel".
std::string short_weight_name(const std::string& name) {
  std::string s = name.substr(name.rfind('/') + 1);
  if (auto colon = s.rfind(':'); colon != std::string::npos) s.erase(colon);
  return s;
}

struct FileLayer {
  std::string name;
  Group group;
  std::vector<std::string> weight_names;  // paths relative to `group`
};

// The layers of a weights group (model_weights, or the root of a weights-only file) that hold weights, in
// the file's layer order.
std::vector<FileLayer> layers_with_weights(const Group& weights_group) {
  if (!weights_group.has_attribute("layer_names") && !weights_group.has_attribute("layer_names0"))
    throw IOError(fmt::format("HDF5 file '{}': group '{}' has no layer_names attribute (not a Keras weights group)",
                              weights_group.file_name(), weights_group.path()));
  std::vector<FileLayer> out;
  for (const std::string& name : chunked_strings(weights_group, "layer_names")) {
    Group group = weights_group.group(name);
    std::vector<std::string> weight_names = chunked_strings(group, "weight_names");
    if (!weight_names.empty()) out.push_back({name, group, std::move(weight_names)});
  }
  return out;
}

std::vector<layers::LayerPtr> model_layers_with_weights(const Model& model) {
  std::vector<layers::LayerPtr> out;
  for (const auto& layer : model.sublayers())
    if (!layer->weights().empty()) out.push_back(layer);
  return out;
}

std::string joined_names(const std::vector<FileLayer>& file_layers) {
  std::vector<std::string> names;
  for (const auto& l : file_layers) names.push_back(l.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

// Every weight of `layer`, read from `file_layer` after its name, shape and element type are checked.
void read_layer_weights(const layers::Layer& layer, const FileLayer& file_layer,
                        std::vector<std::pair<Variable, Tensor>>& out) {
  const std::string who = fmt::format("HDF5 file '{}': layer '{}' ({} '{}' in the model)", file_layer.group.file_name(),
                                      file_layer.name, layer.class_name(), layer.name());
  std::vector<bool> used(file_layer.weight_names.size(), false);
  for (const Variable& weight : layer.weights()) {
    const std::string name = short_weight_name(weight.name());
    std::size_t match = file_layer.weight_names.size();
    for (std::size_t i = 0; i < file_layer.weight_names.size() && match == file_layer.weight_names.size(); ++i)
      if (!used[i] && short_weight_name(file_layer.weight_names[i]) == name) match = i;
    if (match == file_layer.weight_names.size())
      throw IOError(fmt::format("{}: missing weight '{}' (shape {}); the file's weight_names are [{}]", who, name,
                                to_string(weight.shape()), fmt::join(file_layer.weight_names, ", ")));
    used[match] = true;
    const std::string& path = file_layer.weight_names[match];
    // read_dataset checks the shape and the element type (float32 or float64) before it reads; its
    // message names the dataset, this one adds the layer.
    try {
      out.emplace_back(weight, file_layer.group.read_dataset(path, weight.shape(), weight.dtype()));
    } catch (const IOError& e) {
      throw IOError(fmt::format("{}: weight '{}': {}", who, path, e.what()));
    }
  }
  for (std::size_t i = 0; i < used.size(); ++i)
    if (!used[i])
      throw IOError(fmt::format("{}: the file holds weight '{}', which the layer does not have", who,
                                file_layer.weight_names[i]));
}

void load_weights_group(Model& model, const Group& weights_group) {
  std::vector<FileLayer> file_layers = layers_with_weights(weights_group);
  std::vector<layers::LayerPtr> model_layers = model_layers_with_weights(model);
  if (file_layers.size() != model_layers.size()) {
    std::vector<std::string> names;
    for (const auto& l : model_layers) names.push_back(l->name());
    throw IOError(fmt::format("HDF5 file '{}' holds weights for {} layers [{}] but model '{}' has {} layers with "
                              "weights [{}]",
                              weights_group.file_name(), file_layers.size(), joined_names(file_layers), model.name(),
                              model_layers.size(), fmt::join(names, ", ")));
  }
  std::vector<std::pair<Variable, Tensor>> values;
  for (std::size_t i = 0; i < file_layers.size(); ++i) read_layer_weights(*model_layers[i], file_layers[i], values);
  NoGrad no_grad;
  for (auto& [variable, value] : values) variable.assign(value);
}

// Lets the config create only weights whose shape some dataset of the file has, each dataset once, so a
// hostile config is refused before it allocates.
layers::WeightCreationCheck weights_the_file_holds(const Group& weights_group) {
  auto available = std::make_shared<std::map<Shape, int>>();
  for (const FileLayer& layer : layers_with_weights(weights_group))
    for (const std::string& path : layer.weight_names) ++(*available)[layer.group.dataset_info(path).shape];
  std::string file = weights_group.file_name();
  return [available, file](const layers::Layer& layer, const std::string& weight, const Shape& shape, DType) {
    auto it = available->find(shape);
    if (it == available->end() || it->second == 0)
      throw IOError(fmt::format("HDF5 file '{}' does not match its model_config: {} '{}' would create weight '{}' of "
                                "shape {}, but the file holds no (further) dataset of that shape",
                                file, layer.class_name(), layer.name(), weight, to_string(shape)));
    --it->second;
  };
}

}  // namespace

std::shared_ptr<Model> load_legacy_model(const io::hdf5::File& file) {
  Group root = file.root();
  if (!root.has_attribute("model_config"))
    throw IOError(fmt::format("load_model: HDF5 file '{}' has no model_config attribute (a weights-only file: build "
                              "the model and call load_weights)",
                              file.name()));
  if (!root.has_group("model_weights"))
    throw IOError(fmt::format("load_model: HDF5 file '{}' has a model_config but no model_weights group", file.name()));
  Group weights = root.group("model_weights");
  register_model_classes();
  std::shared_ptr<Model> model;
  try {
    nlohmann::json config = keel_model_config(nlohmann::json::parse(root.string_attribute("model_config")));
    // load_weights_group assigns every weight (or throws), so the initializers' values would be overwritten.
    layers::ScopedWeightCreationCheck check(weights_the_file_holds(weights), layers::InitialValues::zeros);
    model = std::dynamic_pointer_cast<Model>(layers::deserialize(config));
    if (model) model->build_from_declared_input();
  } catch (const IOError&) {
    throw;
  } catch (const Error& e) {
    throw IOError(fmt::format("load_model: HDF5 file '{}': {}", file.name(), e.what()));
  } catch (const nlohmann::json::exception& e) {
    throw IOError(fmt::format("load_model: HDF5 file '{}' has a malformed model_config ({})", file.name(), e.what()));
  }
  if (!model) throw IOError(fmt::format("load_model: HDF5 file '{}' does not describe a model", file.name()));
  if (!model->built())
    throw IOError(fmt::format("load_model: HDF5 file '{}' does not record the model's input shape", file.name()));
  load_weights_group(*model, weights);
  if (root.has_attribute("training_config"))
    compile_from_training_config(*model, root.string_attribute("training_config"), file.name());
  return model;
}

void load_legacy_weights(Model& model, const io::hdf5::File& file) {
  Group root = file.root();
  load_weights_group(model, root.has_group("model_weights") && !root.has_attribute("layer_names")
                                ? root.group("model_weights")
                                : root);
}

}  // namespace keel::keras
