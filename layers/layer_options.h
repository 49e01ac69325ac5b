#pragma once
// Argument types and checks shared by keel's built-in layers: 2-D sizes given as an int or a
// pair, Keras's padding and data_format strings, and the JSON forms of them in get_config.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

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
Size2 size2_from_json(const nlohmann::json& j);  // an int or [h, w]

// The checks raise ValueError naming the layer ("Conv2D 'conv2d_1'"), the argument and the value.
// `layer` is the Layer being constructed (its class and name are set by then).
void require_positive(const Layer& layer, const char* argument, std::int64_t value);
void require_positive(const Layer& layer, const char* argument, const Size2& value);
// "valid" -> false, "same" -> true.
bool parse_padding(const Layer& layer, const std::string& padding);
// "channels_last" -> false, "channels_first" -> true.
bool parse_data_format(const Layer& layer, const std::string& data_format);

// Restores name-independent base settings (trainable, dtype) from a get_config() object.
void restore_base_config(Layer& layer, const nlohmann::json& config);

// Builds a layer of type L from Options and a get_config() object (name, trainable, dtype).
template <class L>
std::shared_ptr<L> make_from_config(typename L::Options options, const nlohmann::json& config) {
  auto layer = std::make_shared<L>(std::move(options), config.value("name", std::string()));
  restore_base_config(*layer, config);
  return layer;
}

// JSON forms of the configurable function objects (Keras's: names or {"class_name", "config"}).
nlohmann::json to_json(const keel::Activation& activation);
keel::Activation activation_from_json(const nlohmann::json& j);

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
void kernel_bias_from_json(const nlohmann::json& c, Options& o) {
  auto field = [&c](const char* key) { return c.contains(key) ? c[key] : nlohmann::json(); };
  o.activation = activation_from_json(field("activation"));
  o.use_bias = c.value("use_bias", true);
  if (c.contains("kernel_initializer")) o.kernel_initializer = initializers::deserialize(c["kernel_initializer"]);
  if (c.contains("bias_initializer")) o.bias_initializer = initializers::deserialize(c["bias_initializer"]);
  o.kernel_regularizer = regularizers::deserialize(field("kernel_regularizer"));
  o.bias_regularizer = regularizers::deserialize(field("bias_regularizer"));
  o.activity_regularizer = regularizers::deserialize(field("activity_regularizer"));
  o.kernel_constraint = constraints::deserialize(field("kernel_constraint"));
  o.bias_constraint = constraints::deserialize(field("bias_constraint"));
}

}  // namespace keel::layers
