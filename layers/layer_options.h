#pragma once
// Argument types and checks shared by keel's built-in layers: 2-D sizes given as an int or a
// pair, Keras's padding and data_format strings, and the JSON forms of them in get_config.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "keel/core/config_reader.h"
#include "keel/layers/activations.h"
#include "keel/layers/constraints.h"
#include "keel/layers/initializers.h"
#include "keel/layers/layer.h"
#include "keel/layers/regularizers.h"

namespace keel::layers {

// A (height, width) pair; an int means both (`.kernel_size = 3` or `.kernel_size = {3, 5}`).
struct Size2 {
  std::int64_t h = 1, w = 1;
  Size2() = default;
  Size2(std::int64_t both) : h(both), w(both) {}
  Size2(std::int64_t height, std::int64_t width) : h(height), w(width) {}
  bool operator==(const Size2&) const = default;
};

// ZeroPadding2D's amounts: an int (all sides), {h, w} (symmetric), or {{top, bottom}, {left, right}}.
struct Padding2 {
  std::int64_t top = 1, bottom = 1, left = 1, right = 1;
  Padding2() = default;
  Padding2(std::int64_t all) : top(all), bottom(all), left(all), right(all) {}
  Padding2(std::int64_t height, std::int64_t width) : top(height), bottom(height), left(width), right(width) {}
  Padding2(Size2 top_bottom, Size2 left_right)
      : top(top_bottom.h), bottom(top_bottom.w), left(left_right.h), right(left_right.w) {}
  bool operator==(const Padding2&) const = default;
};

nlohmann::json to_json(const Size2& s);
// An int or [h, w] at `key` (already read from `reader`); anything else is a ValueError naming the key.
Size2 size2_in(const config::ConfigReader& reader, const std::string& key, const nlohmann::json& value);
// The Size2 at `key`, or `fallback` when the key is missing.
Size2 read_size2(config::ConfigReader& reader, const std::string& key, Size2 fallback);

// The checks raise ValueError naming the layer ("Conv2D 'conv2d_1'"), the argument and the value.
// `layer` is the Layer being constructed (its class and name are set by then).
void require_positive(const Layer& layer, const char* argument, std::int64_t value);
void require_positive(const Layer& layer, const char* argument, const Size2& value);
// "valid" -> false, "same" -> true.
bool parse_padding(const Layer& layer, const std::string& padding);
// "channels_last" -> false, "channels_first" -> true.
bool parse_data_format(const Layer& layer, const std::string& data_format);

// The keys Layer::get_config writes for every layer.
struct BaseConfig {
  std::string name;  // empty: an automatic name
  std::optional<bool> trainable;
  std::optional<DTypePolicy> dtype;
};
BaseConfig read_base_config(config::ConfigReader& reader);

// Builds a layer of type L from a get_config() object: `read_options(reader)` returns L::Options,
// then the base keys are read, and a key nobody read is a ValueError naming `class_name` and the key,
// all before the layer is constructed.
template <class L, class ReadOptions>
std::shared_ptr<L> make_from_config(const char* class_name, const nlohmann::json& config, ReadOptions&& read_options) {
  config::ConfigReader reader(config, class_name);
  typename L::Options options = read_options(reader);
  const BaseConfig base = read_base_config(reader);
  reader.finish();
  auto layer = std::make_shared<L>(std::move(options), base.name);
  if (base.dtype) layer->set_dtype_policy(*base.dtype);
  if (base.trainable) layer->set_trainable(*base.trainable);
  return layer;
}

// A seed: null (none) or a non-negative integer.
std::optional<std::uint64_t> read_seed(config::ConfigReader& reader, const std::string& key = "seed");

// JSON forms of the configurable function objects (Keras's: names or {"class_name", "config"}).
nlohmann::json to_json(const keel::Activation& activation);
// A name or null (linear).
keel::Activation read_activation(config::ConfigReader& reader, const std::string& key = "activation");

// The kernel/bias arguments Dense and Conv2D share (same member names in both Options).
template <class Options>
void kernel_bias_to_json(const Options& o, nlohmann::json& config) {
  config["activation"] = to_json(o.activation);
  config["use_bias"] = o.use_bias;
  config["kernel_initializer"] = o.kernel_initializer.serialize();
  config["bias_initializer"] = o.bias_initializer.serialize();
  config["kernel_regularizer"] = o.kernel_regularizer.serialize();
  config["bias_regularizer"] = o.bias_regularizer.serialize();
  config["activity_regularizer"] = o.activity_regularizer.serialize();
  config["kernel_constraint"] = o.kernel_constraint.serialize();
  config["bias_constraint"] = o.bias_constraint.serialize();
}

template <class Options>
void kernel_bias_from_config(config::ConfigReader& r, Options& o) {
  o.activation = read_activation(r);
  o.use_bias = r.boolean("use_bias", true);
  if (r.contains("kernel_initializer")) o.kernel_initializer = initializers::deserialize(r.value("kernel_initializer"));
  if (r.contains("bias_initializer")) o.bias_initializer = initializers::deserialize(r.value("bias_initializer"));
  o.kernel_regularizer = regularizers::deserialize(r.value("kernel_regularizer"));
  o.bias_regularizer = regularizers::deserialize(r.value("bias_regularizer"));
  o.activity_regularizer = regularizers::deserialize(r.value("activity_regularizer"));
  o.kernel_constraint = constraints::deserialize(r.value("kernel_constraint"));
  o.bias_constraint = constraints::deserialize(r.value("bias_constraint"));
}

}  // namespace keel::layers
