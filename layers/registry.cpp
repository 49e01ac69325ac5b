#include "keel/layers/registry.h"

#include <fmt/format.h>

#include <map>
#include <mutex>

#include "keel/core/error.h"
#include "keel/layers/activation_layer.h"
#include "keel/layers/activity_regularization.h"
#include "keel/layers/batch_normalization.h"
#include "keel/layers/concatenate.h"
#include "keel/layers/conv1d.h"
#include "keel/layers/conv2d.h"
#include "keel/layers/conv2d_transpose.h"
#include "keel/layers/cropping2d.h"
#include "keel/layers/dense.h"
#include "keel/layers/depthwise_conv2d.h"
#include "keel/layers/dot.h"
#include "keel/layers/dropout.h"
#include "keel/layers/elu.h"
#include "keel/layers/embedding.h"
#include "keel/layers/flatten.h"
#include "keel/layers/gaussian_dropout.h"
#include "keel/layers/gaussian_noise.h"
#include "keel/layers/global_pooling1d.h"
#include "keel/layers/global_pooling2d.h"
#include "keel/layers/group_normalization.h"
#include "keel/layers/identity.h"
#include "keel/layers/input.h"
#include "keel/layers/layer_normalization.h"
#include "keel/layers/leaky_relu.h"
#include "keel/layers/merging.h"
#include "keel/layers/permute.h"
#include "keel/layers/pooling1d.h"
#include "keel/layers/pooling2d.h"
#include "keel/layers/prelu.h"
#include "keel/layers/random_flip.h"
#include "keel/layers/random_translation.h"
#include "keel/layers/relu.h"
#include "keel/layers/repeat_vector.h"
#include "keel/layers/rescaling.h"
#include "keel/layers/separable_conv2d.h"
#include "keel/layers/reshape.h"
#include "keel/layers/softmax.h"
#include "keel/layers/spatial_dropout2d.h"
#include "keel/layers/unit_normalization.h"
#include "keel/layers/up_sampling2d.h"
#include "keel/layers/zero_padding2d.h"

namespace keel::layers {
namespace {

template <class L>
LayerPtr build(const nlohmann::json& config) {
  return L::from_config(config);
}

// keel's own layer classes: the fixed allow-list.
const std::map<std::string, LayerFactory>& builtin() {
  static const std::map<std::string, LayerFactory> table = {
      {"Activation", build<ActivationLayer>},
      {"ActivityRegularization", build<ActivityRegularizationLayer>},
      {"Add", build<AddLayer>},
      {"Average", build<AverageLayer>},
      {"AveragePooling1D", build<AveragePooling1DLayer>},
      {"AveragePooling2D", build<AveragePooling2DLayer>},
      {"BatchNormalization", build<BatchNormalizationLayer>},
      {"Concatenate", build<ConcatenateLayer>},
      {"Conv1D", build<Conv1DLayer>},
      {"Conv2D", build<Conv2DLayer>},
      {"Conv2DTranspose", build<Conv2DTransposeLayer>},
      {"Cropping2D", build<Cropping2DLayer>},
      {"Dense", build<DenseLayer>},
      {"DepthwiseConv2D", build<DepthwiseConv2DLayer>},
      {"Dot", build<DotLayer>},
      {"Dropout", build<DropoutLayer>},
      {"ELU", build<ELULayer>},
      {"Embedding", build<EmbeddingLayer>},
      {"Flatten", build<FlattenLayer>},
      {"GaussianDropout", build<GaussianDropoutLayer>},
      {"GaussianNoise", build<GaussianNoiseLayer>},
      {"GlobalAveragePooling1D", build<GlobalAveragePooling1DLayer>},
      {"GlobalAveragePooling2D", build<GlobalAveragePooling2DLayer>},
      {"GlobalMaxPooling1D", build<GlobalMaxPooling1DLayer>},
      {"GlobalMaxPooling2D", build<GlobalMaxPooling2DLayer>},
      {"GroupNormalization", build<GroupNormalizationLayer>},
      {"Identity", build<IdentityLayer>},
      {"InputLayer", build<InputLayer>},
      {"LayerNormalization", build<LayerNormalizationLayer>},
      {"LeakyReLU", build<LeakyReLULayer>},
      {"MaxPooling1D", build<MaxPooling1DLayer>},
      {"MaxPooling2D", build<MaxPooling2DLayer>},
      {"Maximum", build<MaximumLayer>},
      {"Minimum", build<MinimumLayer>},
      {"Multiply", build<MultiplyLayer>},
      {"PReLU", build<PReLULayer>},
      {"Permute", build<PermuteLayer>},
      {"RandomFlip", build<RandomFlipLayer>},
      {"RandomTranslation", build<RandomTranslationLayer>},
      {"ReLU", build<ReLULayer>},
      {"RepeatVector", build<RepeatVectorLayer>},
      {"Rescaling", build<RescalingLayer>},
      {"Reshape", build<ReshapeLayer>},
      {"SeparableConv2D", build<SeparableConv2DLayer>},
      {"Softmax", build<SoftmaxLayer>},
      {"SpatialDropout2D", build<SpatialDropout2DLayer>},
      {"Subtract", build<SubtractLayer>},
      {"UnitNormalization", build<UnitNormalizationLayer>},
      {"UpSampling2D", build<UpSampling2DLayer>},
      {"ZeroPadding2D", build<ZeroPadding2DLayer>},
  };
  return table;
}

std::mutex g_mutex;
std::map<std::string, LayerFactory>& registered() {
  static std::map<std::string, LayerFactory> table;
  return table;
}

}  // namespace

LayerPtr deserialize(const nlohmann::json& serialized) {
  if (!serialized.is_object() || !serialized.contains("class_name") || !serialized["class_name"].is_string())
    throw ValueError(fmt::format("layers::deserialize: expected {{\"class_name\": ..., \"config\": ...}}, got {}",
                                 serialized.dump()));
  const std::string class_name = serialized["class_name"].get<std::string>();
  const nlohmann::json config = serialized.contains("config") ? serialized["config"] : nlohmann::json::object();
  if (auto it = builtin().find(class_name); it != builtin().end()) return it->second(config);
  LayerFactory factory;
  {
    std::lock_guard lock(g_mutex);
    auto it = registered().find(class_name);
    if (it != registered().end()) factory = it->second;
  }
  if (!factory)
    throw ValueError(fmt::format(
        "layers::deserialize: unknown layer class '{}' (not a keel layer; register custom classes with register_layer)",
        class_name));
  return factory(config);
}

std::vector<std::string> known_classes() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : builtin()) names.push_back(name);
  std::lock_guard lock(g_mutex);
  for (const auto& [name, factory] : registered()) names.push_back(name);
  return names;
}

void register_layer(const std::string& class_name, LayerFactory factory) {
  if (!factory) throw ValueError(fmt::format("register_layer: the factory for '{}' is empty", class_name));
  if (builtin().count(class_name))
    throw ValueError(fmt::format("register_layer: '{}' is a built-in keel layer and cannot be replaced", class_name));
  std::lock_guard lock(g_mutex);
  registered()[class_name] = std::move(factory);
}

}  // namespace keel::layers
