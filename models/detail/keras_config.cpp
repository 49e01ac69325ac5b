#include "keel/models/detail/keras_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "keel/core/dtype.h"
#include "keel/core/error.h"
#include "keel/layers/registry.h"
#include "keel/models/saving.h"

namespace keel::keras {
namespace {

using nlohmann::json;

// Keras arguments that keel has no option for but whose value is the one keel always implies (dropped),
// Keras 2 names of arguments keel reads under Keras 3's name (renamed), and Keras 2 integers where keel
// reads a boolean, and arguments a Keras class writes but never uses (dropped whatever their value). The one
// place where Keras's argument spellings meet keel's.
struct Translation {
  const char* class_name;  // "*": every class
  const char* key;
  enum Kind { drop_if_equal, rename, integer_to_boolean, unused_by_keras } kind;
  json value = nullptr;  // drop_if_equal: the implied value; rename: the keel name
};

const std::vector<Translation>& translations() {
  static const std::vector<Translation> table = {
      {"InputLayer", "sparse", Translation::drop_if_equal, false},
      {"InputLayer", "ragged", Translation::drop_if_equal, false},
      {"InputLayer", "optional", Translation::drop_if_equal, false},
      {"Conv1D", "groups", Translation::drop_if_equal, 1},
      {"Conv2D", "groups", Translation::drop_if_equal, 1},
      {"DepthwiseConv2D", "groups", Translation::drop_if_equal, 1},
      {"Dropout", "noise_shape", Translation::drop_if_equal, nullptr},
      {"SpatialDropout2D", "noise_shape", Translation::drop_if_equal, nullptr},
      {"LeakyReLU", "alpha", Translation::rename, "negative_slope"},
      // tf.keras 2.2's SeparableConv2D writes its Conv base's kernel arguments; its kernels are the depthwise
      // and pointwise ones, which have their own.
      {"SeparableConv2D", "kernel_initializer", Translation::unused_by_keras},
      {"SeparableConv2D", "kernel_regularizer", Translation::unused_by_keras},
      {"SeparableConv2D", "kernel_constraint", Translation::unused_by_keras},
      {"BatchNormalization", "center", Translation::integer_to_boolean},
      {"BatchNormalization", "scale", Translation::integer_to_boolean},
  };
  return table;
}

// Keys Keras 3 adds next to class_name and config that describe where the class lives, not what it computes.
constexpr const char* kClassLocationKeys[] = {"module", "registered_name"};

bool is_model_class(const std::string& class_name) {
  return class_name == "Sequential" || class_name == "Functional" || class_name == "Model";
}

std::string describe(const std::string& name, const std::string& class_name) {
  return fmt::format("Keras layer '{}' ({})", name, class_name);
}

// Keras writes the dtype policy as "float32" (Keras 2) or {"class_name": "DTypePolicy", "config": {"name":
// "float32"}} (Keras 3). "float32" is Keras's default policy and leaves the layer on keel's floatx.
const json& dtype_policy_name(const json& dtype, const std::string& who) {
  if (!dtype.is_object()) return dtype;
  if (!dtype.contains("config") || !dtype["config"].is_object() || !dtype["config"].contains("name"))
    throw ValueError(fmt::format("{}: dtype {} is not a dtype policy object", who, dtype.dump()));
  return dtype["config"]["name"];
}

std::optional<std::string> keel_dtype(const json& dtype, const std::string& who) {
  const json* name = &dtype_policy_name(dtype, who);
  if (name->is_null()) return std::nullopt;
  if (!name->is_string() || (*name != "float32" && *name != "float64" && *name != "mixed_bfloat16"))
    throw ValueError(fmt::format(
        "{}: argument 'dtype' {} is not supported (keel has the float32, float64 and mixed_bfloat16 policies)", who,
        dtype.dump()));
  if (*name == "float32") return std::nullopt;
  return name->get<std::string>();
}

// An InputLayer's dtype may be an integer one (index inputs, an Embedding's): keel's integer dtype is int64.
bool is_integer_dtype(const json& dtype, const std::string& who) {
  static const std::vector<std::string> names = {"int8",  "int16",  "int32",  "int64",
                                                 "uint8", "uint16", "uint32", "uint64"};
  const json& name = dtype_policy_name(dtype, who);
  return name.is_string() && std::find(names.begin(), names.end(), name.get<std::string>()) != names.end();
}

// [null, d1, d2, ...] (Keras's batch shape) without its batch axis; a free size (null) is keel's -1.
json per_sample_shape(const json& batch_shape, const std::string& who, const char* key) {
  if (!batch_shape.is_array() || batch_shape.empty())
    throw ValueError(fmt::format("{}: argument '{}' {} is not a batch shape [batch, ...]", who, key, batch_shape.dump()));
  json shape = json::array();
  for (std::size_t i = 1; i < batch_shape.size(); ++i) {
    if (batch_shape[i].is_null()) {
      shape.push_back(-1);
      continue;
    }
    if (!batch_shape[i].is_number_integer() || batch_shape[i].get<std::int64_t>() <= 0)
      throw ValueError(fmt::format("{}: argument '{}' {} has an axis that is neither a positive size nor null", who,
                                   key, batch_shape.dump()));
    shape.push_back(batch_shape[i]);
  }
  return shape;
}

// The batch shape a layer declares for its input (batch_input_shape, batch_shape or Keras 2's input_shape),
// or null.
json declared_batch_shape(const json& config) {
  if (!config.is_object()) return nullptr;
  for (const char* key : {"batch_input_shape", "batch_shape"})
    if (config.contains(key) && !config[key].is_null()) return config[key];
  if (config.contains("input_shape") && config["input_shape"].is_array()) {
    json batch = json::array({nullptr});
    for (const auto& d : config["input_shape"]) batch.push_back(d);
    return batch;
  }
  return nullptr;
}

json keel_layer(const json& entry);

// A layer's config in keel's form, checked by building the layer once (cheap: weights come at build time),
// so an error names the Keras layer.
json keel_layer_config(const std::string& class_name, const json& keras_config) {
  const std::string name = keras_config.is_object() && keras_config.value("name", json()).is_string()
                               ? keras_config["name"].get<std::string>()
                               : std::string("?");
  const std::string who = describe(name, class_name);
  if (!keras_config.is_object()) throw ValueError(fmt::format("{}: config {} is not an object", who, keras_config.dump()));
  std::vector<std::string> known = layers::known_classes();
  if (std::find(known.begin(), known.end(), class_name) == known.end())
    throw ValueError(fmt::format("{}: keel has no layer class '{}' (supported: {})", who, class_name,
                                 fmt::join(known, ", ")));
  json config = json::object();
  for (const auto& [key, value] : keras_config.items()) {
    if (key == "batch_input_shape" || key == "batch_shape" || key == "input_shape") {
      if (class_name == "InputLayer" && key != "input_shape") config["shape"] = per_sample_shape(value, who, key.c_str());
      continue;
    }
    if (key == "dtype") {
      if (class_name == "InputLayer" && is_integer_dtype(value, who))
        config["dtype"] = dtype_name(DType::int64);
      else if (auto dtype = keel_dtype(value, who))
        config["dtype"] = *dtype;
      continue;
    }
    config[key] = without_class_locations(value);
  }
  for (const Translation& t : translations()) {
    if ((std::string(t.class_name) != "*" && class_name != t.class_name) || !config.contains(t.key)) continue;
    json& value = config[t.key];
    switch (t.kind) {
      case Translation::drop_if_equal:
        if (value != t.value)
          throw ValueError(fmt::format("{}: argument '{}' = {} is not supported (keel implements only {})", who, t.key,
                                       value.dump(), t.value.dump()));
        config.erase(t.key);
        break;
      case Translation::rename: {
        json moved = value;
        config.erase(t.key);
        config[t.value.get<std::string>()] = std::move(moved);
        break;
      }
      case Translation::unused_by_keras:
        config.erase(t.key);
        break;
      case Translation::integer_to_boolean:
        if (value.is_number_integer() && (value == 0 || value == 1)) value = value == 1;
        break;
    }
  }
  try {
    layers::deserialize({{"class_name", class_name}, {"config", config}});
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("{}: {}", who, e.what()));
  }
  return config;
}

json keel_sequential(const json& keras_config, const json& build_config) {
  const json& items = keras_config.is_array() ? keras_config : keras_config.value("layers", json());
  if (!items.is_array()) throw ValueError(fmt::format("Keras Sequential: 'layers' {} is not a list", items.dump()));
  json config = json::object();
  if (keras_config.is_object()) {
    for (const auto& [key, value] : keras_config.items()) {
      if (key == "layers" || key == "build_input_shape") continue;
      if (key == "dtype") {
        if (auto dtype = keel_dtype(value, "Keras Sequential")) config["dtype"] = *dtype;
        continue;
      }
      config[key] = value;
    }
  }
  config["layers"] = json::array();
  // A model without an InputLayer takes its input shape from its first layer's batch_input_shape, or from
  // the recorded build shape.
  const bool has_input = !items.empty() && items[0].is_object() && items[0].value("class_name", json()) == "InputLayer";
  if (!has_input) {
    json batch_shape = items.empty() ? json() : declared_batch_shape(items[0].value("config", json()));
    if (batch_shape.is_null() && keras_config.is_object()) batch_shape = keras_config.value("build_input_shape", json());
    if (batch_shape.is_null() && build_config.is_object()) batch_shape = build_config.value("input_shape", json());
    if (!batch_shape.is_null())
      config["layers"].push_back(
          {{"class_name", "InputLayer"},
           {"config", {{"shape", per_sample_shape(batch_shape, "Keras Sequential", "batch_input_shape")}}}});
  }
  for (const auto& item : items) config["layers"].push_back(keel_layer(item));
  return {{"class_name", "Sequential"}, {"config", config}};
}

json keel_functional(const json& keras_config) {
  if (!keras_config.is_object()) throw ValueError(fmt::format("Keras Functional: config {} is not an object", keras_config.dump()));
  json config = json::object();
  for (const auto& [key, value] : keras_config.items()) {
    if (key == "layers") {
      if (!value.is_array()) throw ValueError(fmt::format("Keras Functional: 'layers' {} is not a list", value.dump()));
      config["layers"] = json::array();
      for (const auto& item : value) {
        json layer = keel_layer(item);
        for (const char* kept : {"name", "inbound_nodes"})
          if (item.contains(kept)) layer[kept] = item[kept];
        config["layers"].push_back(std::move(layer));
      }
    } else if (key == "dtype") {
      if (auto dtype = keel_dtype(value, "Keras Functional")) config["dtype"] = *dtype;
    } else {
      config[key] = value;
    }
  }
  return {{"class_name", "Functional"}, {"config", config}};
}

// {"class_name", "config"} of one layer or nested model.
json keel_layer(const json& entry) {
  if (!entry.is_object() || !entry.contains("class_name") || !entry["class_name"].is_string() || !entry.contains("config"))
    throw ValueError(fmt::format("Keras config: a layer entry {} lacks class_name or config", entry.dump().substr(0, 200)));
  const std::string class_name = entry["class_name"].get<std::string>();
  if (is_model_class(class_name)) return keel_model_config(entry);
  return {{"class_name", class_name}, {"config", keel_layer_config(class_name, entry["config"])}};
}

}  // namespace

json without_class_locations(const json& value) {
  if (value.is_array()) {
    json out = json::array();
    for (const auto& v : value) out.push_back(without_class_locations(v));
    return out;
  }
  if (!value.is_object()) return value;
  json out = json::object();
  const bool serialized_object = value.contains("class_name") && value.contains("config");
  for (const auto& [key, v] : value.items()) {
    if (serialized_object && std::find(std::begin(kClassLocationKeys), std::end(kClassLocationKeys), key) !=
                                 std::end(kClassLocationKeys))
      continue;
    out[key] = without_class_locations(v);
  }
  return out;
}

json keel_model_config(const json& keras_model) {
  if (!keras_model.is_object() || !keras_model.contains("class_name") || !keras_model["class_name"].is_string() ||
      !keras_model.contains("config"))
    throw ValueError("Keras config: expected {\"class_name\": ..., \"config\": ...} at the top");
  const std::string class_name = keras_model["class_name"].get<std::string>();
  if (class_name == "Sequential") return keel_sequential(keras_model["config"], keras_model.value("build_config", json()));
  if (class_name == "Functional" || class_name == "Model") return keel_functional(keras_model["config"]);
  throw ValueError(fmt::format("Keras config: the top-level class is '{}', not a model (Sequential, Functional, Model)",
                               class_name));
}

}  // namespace keel::keras
