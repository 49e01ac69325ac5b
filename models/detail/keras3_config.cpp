#include "keel/models/detail/keras3_config.h"

#include <fmt/format.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/shape.h"
#include "keel/layers/layer.h"
#include "keel/models/model.h"

namespace keel::models::detail {
namespace {

using json = nlohmann::json;

// Arguments keel's layers and optimizers accept (from tf.keras 2) that Keras 3 removed, with the value at
// which they change nothing. Keras 3 refuses unknown arguments, so they are left out at that value and
// refused otherwise.
const std::map<std::string, std::vector<std::pair<std::string, json>>>& keras2_only_arguments() {
  static const std::map<std::string, std::vector<std::pair<std::string, json>>> table = {
      {"BatchNormalization",
       {{"fused", nullptr},
        {"renorm", false},
        {"renorm_clipping", json::object()},
        {"renorm_momentum", 0.99},
        {"virtual_batch_size", nullptr},
        {"adjustment", nullptr}}},
      {"optimizer", {{"exclude_from_weight_decay", json::array()}}},
  };
  return table;
}

void drop_keras2_only_arguments(const std::string& table_key, const std::string& class_name, json& config) {
  auto entry = keras2_only_arguments().find(table_key);
  if (entry == keras2_only_arguments().end()) return;
  for (const auto& [argument, neutral] : entry->second) {
    if (!config.contains(argument)) continue;
    if (config[argument] != neutral)
      throw ValueError(fmt::format("to_json: {} '{}' sets {} = {}, which Keras 3 cannot express (only {} is "
                                   "supported there)",
                                   class_name, config.value("name", std::string()), argument,
                                   config[argument].dump(), neutral.dump()));
    config.erase(argument);
  }
}

json keras3_object(const std::string& module, const std::string& class_name, json config,
                   json registered_name = nullptr) {
  return {{"module", module}, {"class_name", class_name}, {"config", std::move(config)},
          {"registered_name", std::move(registered_name)}};
}

// {"class_name", "config"} objects nested in a layer's config (initializers, regularizers, constraints)
// get the module Keras 3 names them by.
void mark_nested_objects(json& config) {
  for (auto& [key, value] : config.items()) {
    if (!value.is_object() || !value.contains("class_name") || value.contains("module")) continue;
    for (const char* kind : {"initializer", "regularizer", "constraint"})
      if (key.ends_with(kind))
        value = keras3_object(fmt::format("keras.{}s", kind), value["class_name"].get<std::string>(),
                              value.value("config", json::object()));
  }
}

json size_or_null(std::int64_t size) { return size == -1 ? json(nullptr) : json(size); }

// A shape with Keras's unknown batch size: [null, d1, ...], free sizes null too. keel's built shapes carry
// the batch size of the call that built the layer, which says nothing about the model.
json batch_shape(const Shape& shape) {
  json out = json::array({nullptr});
  for (std::size_t i = 1; i < shape.size(); ++i) out.push_back(size_or_null(shape[i]));
  return out;
}

json keras3_layer(const layers::Layer& layer, const json& keel_entry);

json input_layer_entry(const json& keel_config) {
  json shape = json::array({nullptr});
  for (const auto& d : keel_config.at("shape")) shape.push_back(size_or_null(d.get<std::int64_t>()));
  json config = {{"batch_shape", shape}, {"dtype", keel_config.at("dtype")}, {"sparse", false},
                 {"name", keel_config.at("name")}};
  return keras3_object("keras.layers", "InputLayer", std::move(config));
}

json sequential_config(const layers::Layer& model, json config) {
  const auto inner = model.sublayers();
  json entries = json::array();
  const json& keel_entries = config.at("layers");
  const std::size_t first = keel_entries.size() - inner.size();  // 1 when the model starts with an Input
  if (first == 1) {
    entries.push_back(input_layer_entry(keel_entries[0].at("config")));
  } else if (model.built()) {
    // Keras 3 gives every built Sequential an InputLayer.
    json shape = batch_shape(model.built_input_shape());
    entries.push_back(keras3_object("keras.layers", "InputLayer",
                                    {{"batch_shape", shape}, {"dtype", config.at("dtype")}, {"sparse", false},
                                     {"name", "input_layer"}}));
  }
  for (std::size_t i = 0; i < inner.size(); ++i) entries.push_back(keras3_layer(*inner[i], keel_entries[first + i]));
  config["layers"] = std::move(entries);
  if (model.built()) config["build_input_shape"] = batch_shape(model.built_input_shape());
  return config;
}

json functional_config(const layers::Layer& model, json config) {
  const auto inner = model.sublayers();
  json& keel_entries = config.at("layers");
  for (std::size_t i = 0; i < inner.size(); ++i) {
    json entry = keras3_layer(*inner[i], keel_entries[i]);
    entry["name"] = keel_entries[i].at("name");
    entry["inbound_nodes"] = keel_entries[i].at("inbound_nodes");
    keel_entries[i] = std::move(entry);
  }
  // Keras 3 writes a single input or output as one [layer, node, tensor] triple.
  for (const char* key : {"input_layers", "output_layers"})
    if (config[key].size() == 1) config[key] = json(config[key][0]);
  return config;
}

json keras3_layer(const layers::Layer& layer, const json& keel_entry) {
  const std::string class_name = keel_entry.at("class_name").get<std::string>();
  json config = keel_entry.at("config");
  if (class_name == "InputLayer") return input_layer_entry(config);
  json out;
  if (class_name == "Sequential") {
    out = keras3_object("keras", "Sequential", sequential_config(layer, std::move(config)));
  } else if (class_name == "Functional") {
    out = keras3_object("keras.src.models.functional", "Functional", functional_config(layer, std::move(config)),
                        "Functional");
  } else {
    drop_keras2_only_arguments(class_name, class_name, config);
    mark_nested_objects(config);
    out = keras3_object("keras.layers", class_name, std::move(config));
  }
  if (class_name == "Functional")
    out["build_config"] = {{"input_shape", nullptr}};
  else if (layer.built())
    out["build_config"] = {{"input_shape", batch_shape(layer.built_input_shape())}};
  return out;
}

// Keras 3's compile_config: compile()'s arguments, objects in Keras 3's form.
json keras3_compile_config(const json& keel_compile) {
  json optimizer = keel_compile.at("optimizer");
  json optimizer_config = optimizer.at("config");
  const std::string optimizer_class = optimizer.at("class_name").get<std::string>();
  drop_keras2_only_arguments("optimizer", optimizer_class, optimizer_config);
  json& rate = optimizer_config["learning_rate"];
  if (rate.is_object() && rate.contains("class_name"))
    rate = keras3_object("keras.optimizers.schedules", rate.at("class_name"), rate.value("config", json::object()));
  json loss = keel_compile.at("loss");
  if (loss.is_object()) loss = keras3_object("keras.losses", loss.at("class_name"), loss.value("config", json::object()));
  json metrics = keel_compile.at("metrics");
  if (metrics.empty()) metrics = nullptr;
  return {{"optimizer", keras3_object("keras.optimizers", optimizer_class, std::move(optimizer_config))},
          {"loss", std::move(loss)},
          {"loss_weights", nullptr},
          {"metrics", std::move(metrics)},
          {"weighted_metrics", nullptr},
          {"run_eagerly", false},
          {"steps_per_execution", 1},
          {"jit_compile", false}};
}

}  // namespace

json keras3_model_config(const Model& model) {
  json out = keras3_layer(model, model.serialize());
  if (model.compiled()) out["compile_config"] = keras3_compile_config(model.get_compile_config());
  return out;
}

}  // namespace keel::models::detail
