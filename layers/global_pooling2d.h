#pragma once
// GlobalAveragePooling2D and GlobalMaxPooling2D (Keras): rank-4 input -> [batch, channels]
// ([batch, 1, 1, channels] or [batch, channels, 1, 1] with keepdims).
#include <memory>
#include <string>

#include "keel/layers/global_pooling.h"

namespace keel::layers {

using GlobalPooling2DOptions = GlobalPoolingOptions;

class GlobalAveragePooling2DLayer : public GlobalPoolingLayer {
 public:
  explicit GlobalAveragePooling2DLayer(Options options, std::string name = "");
  static std::shared_ptr<GlobalAveragePooling2DLayer> from_config(const nlohmann::json& config);
};

class GlobalMaxPooling2DLayer : public GlobalPoolingLayer {
 public:
  explicit GlobalMaxPooling2DLayer(Options options, std::string name = "");
  static std::shared_ptr<GlobalMaxPooling2DLayer> from_config(const nlohmann::json& config);
};

Ref<GlobalAveragePooling2DLayer> GlobalAveragePooling2D(GlobalPooling2DOptions options = {},
                                                                    std::string name = "");
Ref<GlobalMaxPooling2DLayer> GlobalMaxPooling2D(GlobalPooling2DOptions options = {}, std::string name = "");

}  // namespace keel::layers
