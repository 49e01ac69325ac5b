#pragma once
// Internal to layers/: the checks, shapes and config pieces the convolution layers share.
#include <cstdint>

#include "keel/layers/layer_options.h"

namespace keel::layers::detail {

// ShapeError naming the layer unless the input has `rank` axes.
void require_rank(const Layer& layer, const Shape& input_shape, std::size_t rank);

// ValueError naming the layer unless strides or dilation_rate is 1 on both axes (Keras's rule).
void require_unit_strides_or_dilation(const Layer& layer, const Size2& strides, const Size2& dilation_rate);

struct WindowFlags {
  bool same_padding, channels_first;
};
// Checks a convolution's kernel_size, strides and dilation_rate (positive; strides and dilation not both
// > 1), padding and data_format, naming the layer; returns the parsed padding and data format.
template <class Options>
WindowFlags check_window_options(const Layer& layer, const Options& o) {
  require_positive(layer, "kernel_size", o.kernel_size);
  require_positive(layer, "strides", o.strides);
  require_positive(layer, "dilation_rate", o.dilation_rate);
  const WindowFlags flags{parse_padding(layer, o.padding), parse_data_format(layer, o.data_format)};
  require_unit_strides_or_dilation(layer, o.strides, o.dilation_rate);
  return flags;
}

// A rank-4 input's shape after a sliding window (Keras/TF "valid" or "same"), with `channels` output channels.
Shape windowed_output_shape(const Layer& layer, const Shape& input_shape, const Size2& kernel, const Size2& strides,
                            const Size2& dilation_rate, bool same_padding, bool channels_first, std::int64_t channels);

// A 1-D size (Conv1D's kernel_size, the 1-D poolings' pool_size): an int or a list of one int, as Keras
// writes tuples; `fallback` when the key is missing.
std::int64_t read_size1(config::ConfigReader& reader, const std::string& key, std::int64_t fallback);

// Amounts per side (ZeroPadding2D's padding, Cropping2D's cropping) as {{top, bottom}, {left, right}}, and
// read back from an int (all sides), [h, w] (symmetric) or [[top, bottom], [left, right]].
nlohmann::json sides_to_json(const Padding2& p);
Padding2 read_sides(config::ConfigReader& reader, const std::string& key, const Padding2& fallback);

// The window arguments of the 2-D convolutions: kernel_size, strides, padding, data_format, dilation_rate.
template <class Options>
void window_to_json(const Options& o, nlohmann::json& c) {
  c["kernel_size"] = to_json(o.kernel_size);
  c["strides"] = to_json(o.strides);
  c["padding"] = o.padding;
  c["data_format"] = o.data_format;
  c["dilation_rate"] = to_json(o.dilation_rate);
}

template <class Options>
void window_from_config(config::ConfigReader& r, Options& o) {
  o.kernel_size = read_size2(r, "kernel_size", 0);
  o.strides = read_size2(r, "strides", 1);
  o.padding = r.string("padding", "valid");
  o.data_format = r.string("data_format", "channels_last");
  o.dilation_rate = read_size2(r, "dilation_rate", 1);
}

// The depthwise arguments DepthwiseConv2D and SeparableConv2D share (same member names in both Options).
template <class Options>
void depthwise_to_json(const Options& o, nlohmann::json& c) {
  c["depth_multiplier"] = o.depth_multiplier;
  window_to_json(o, c);
  c["activation"] = to_json(o.activation);
  c["use_bias"] = o.use_bias;
  c["depthwise_initializer"] = o.depthwise_initializer.serialize();
  c["bias_initializer"] = o.bias_initializer.serialize();
  c["depthwise_regularizer"] = o.depthwise_regularizer.serialize();
  c["bias_regularizer"] = o.bias_regularizer.serialize();
  c["activity_regularizer"] = o.activity_regularizer.serialize();
  c["depthwise_constraint"] = o.depthwise_constraint.serialize();
  c["bias_constraint"] = o.bias_constraint.serialize();
}

template <class Options>
void depthwise_from_config(config::ConfigReader& r, Options& o) {
  o.depth_multiplier = r.integer("depth_multiplier", 1);
  window_from_config(r, o);
  o.activation = read_activation(r);
  o.use_bias = r.boolean("use_bias", true);
  if (r.contains("depthwise_initializer"))
    o.depthwise_initializer = initializers::deserialize(r.value("depthwise_initializer"));
  if (r.contains("bias_initializer")) o.bias_initializer = initializers::deserialize(r.value("bias_initializer"));
  o.depthwise_regularizer = regularizers::deserialize(r.value("depthwise_regularizer"));
  o.bias_regularizer = regularizers::deserialize(r.value("bias_regularizer"));
  o.activity_regularizer = regularizers::deserialize(r.value("activity_regularizer"));
  o.depthwise_constraint = constraints::deserialize(r.value("depthwise_constraint"));
  o.bias_constraint = constraints::deserialize(r.value("bias_constraint"));
}

}  // namespace keel::layers::detail
