#pragma once
// GlobalAveragePooling1D and GlobalMaxPooling1D (Keras): rank-3 input [batch, steps, channels] (or
// [batch, channels, steps]) -> [batch, channels] ([batch, 1, channels] or [batch, channels, 1] with keepdims).
#include <memory>
#include <string>

#include "keel/layers/global_pooling.h"

namespace keel::layers {

using GlobalPooling1DOptions = GlobalPoolingOptions;

class GlobalAveragePooling1DLayer : public GlobalPoolingLayer {
 public:
  explicit GlobalAveragePooling1DLayer(Options options, std::string name = "");
  static std::shared_ptr<GlobalAveragePooling1DLayer> from_config(const nlohmann::json& config);
};

class GlobalMaxPooling1DLayer : public GlobalPoolingLayer {
 public:
  explicit GlobalMaxPooling1DLayer(Options options, std::string name = "");
  static std::shared_ptr<GlobalMaxPooling1DLayer> from_config(const nlohmann::json& config);
};

Ref<GlobalAveragePooling1DLayer> GlobalAveragePooling1D(GlobalPooling1DOptions options = {},
                                                                    std::string name = "");
Ref<GlobalMaxPooling1DLayer> GlobalMaxPooling1D(GlobalPooling1DOptions options = {}, std::string name = "");

}  // namespace keel::layers
