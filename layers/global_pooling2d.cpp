#include "keel/layers/global_pooling2d.h"

namespace keel::layers {

GlobalAveragePooling2DLayer::GlobalAveragePooling2DLayer(Options options, std::string name)
    : GlobalPoolingLayer("GlobalAveragePooling2D", 2, false, std::move(options), std::move(name)) {}
std::shared_ptr<GlobalAveragePooling2DLayer> GlobalAveragePooling2DLayer::from_config(const nlohmann::json& config) {
  return make_from_config<GlobalAveragePooling2DLayer>("GlobalAveragePooling2D", config, read_options);
}

GlobalMaxPooling2DLayer::GlobalMaxPooling2DLayer(Options options, std::string name)
    : GlobalPoolingLayer("GlobalMaxPooling2D", 2, true, std::move(options), std::move(name)) {}
std::shared_ptr<GlobalMaxPooling2DLayer> GlobalMaxPooling2DLayer::from_config(const nlohmann::json& config) {
  return make_from_config<GlobalMaxPooling2DLayer>("GlobalMaxPooling2D", config, read_options);
}

Ref<GlobalAveragePooling2DLayer> GlobalAveragePooling2D(GlobalPooling2DOptions options, std::string name) {
  return std::make_shared<GlobalAveragePooling2DLayer>(std::move(options), std::move(name));
}
Ref<GlobalMaxPooling2DLayer> GlobalMaxPooling2D(GlobalPooling2DOptions options, std::string name) {
  return std::make_shared<GlobalMaxPooling2DLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
