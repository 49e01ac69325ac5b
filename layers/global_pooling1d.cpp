#include "keel/layers/global_pooling1d.h"

namespace keel::layers {

GlobalAveragePooling1DLayer::GlobalAveragePooling1DLayer(Options options, std::string name)
    : GlobalPoolingLayer("GlobalAveragePooling1D", 1, false, std::move(options), std::move(name)) {}
std::shared_ptr<GlobalAveragePooling1DLayer> GlobalAveragePooling1DLayer::from_config(const nlohmann::json& config) {
  return make_from_config<GlobalAveragePooling1DLayer>("GlobalAveragePooling1D", config, read_options);
}

GlobalMaxPooling1DLayer::GlobalMaxPooling1DLayer(Options options, std::string name)
    : GlobalPoolingLayer("GlobalMaxPooling1D", 1, true, std::move(options), std::move(name)) {}
std::shared_ptr<GlobalMaxPooling1DLayer> GlobalMaxPooling1DLayer::from_config(const nlohmann::json& config) {
  return make_from_config<GlobalMaxPooling1DLayer>("GlobalMaxPooling1D", config, read_options);
}

Ref<GlobalAveragePooling1DLayer> GlobalAveragePooling1D(GlobalPooling1DOptions options, std::string name) {
  return std::make_shared<GlobalAveragePooling1DLayer>(std::move(options), std::move(name));
}
Ref<GlobalMaxPooling1DLayer> GlobalMaxPooling1D(GlobalPooling1DOptions options, std::string name) {
  return std::make_shared<GlobalMaxPooling1DLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
