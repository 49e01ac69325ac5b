#include <catch2/catch.hpp>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/layers/activation_layer.h"
#include "keel/layers/batch_normalization.h"
#include "keel/layers/conv2d.h"
#include "keel/layers/dense.h"
#include "keel/layers/dropout.h"
#include "keel/layers/flatten.h"
#include "keel/layers/global_pooling2d.h"
#include "keel/layers/input.h"
#include "keel/layers/pooling2d.h"
#include "keel/layers/random_flip.h"
#include "keel/layers/random_translation.h"
#include "keel/layers/registry.h"
#include "keel/layers/rescaling.h"
#include "keel/layers/reshape.h"
#include "keel/layers/zero_padding2d.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using keel::Tensor;
namespace layers = keel::layers;

namespace {
class Doubler : public layers::Layer {
 public:
  explicit Doubler(std::string name = "") : Layer("Doubler", std::move(name)) {}

 protected:
  Tensor call(const Tensor& x, const layers::CallContext&) override { return x * 2.0; }
};
}  // namespace

TEST_CASE("the registry rebuilds built-in classes and refuses unknown ones", "[layers][registry]") {
  auto dense = layers::deserialize({{"class_name", "Dense"}, {"config", {{"units", 3}, {"name", "from_json"}}}});
  CHECK(dense->name() == "from_json");
  CHECK(std::dynamic_pointer_cast<layers::DenseLayer>(dense)->options().units == 3);
  REQUIRE_THROWS_AS(layers::deserialize({{"class_name", "Lambda"}, {"config", nlohmann::json::object()}}),
                    keel::ValueError);
  REQUIRE_THROWS_WITH(layers::deserialize({{"class_name", "Lambda"}, {"config", nlohmann::json::object()}}),
                      Contains("'Lambda'"));
  REQUIRE_THROWS_WITH(layers::deserialize({{"config", nlohmann::json::object()}}), Contains("class_name"));
  REQUIRE_THROWS_AS(layers::deserialize({{"class_name", "Dense"}, {"config", {{"units", 0}}}}), keel::ValueError);
}

TEST_CASE("user layers load after explicit registration", "[layers][registry]") {
  REQUIRE_THROWS_AS(layers::deserialize({{"class_name", "Doubler"}}), keel::ValueError);
  layers::register_layer("Doubler", [](const nlohmann::json& c) -> layers::LayerPtr {
    return std::make_shared<Doubler>(c.value("name", std::string()));
  });
  Doubler original("twice");
  auto rebuilt = layers::deserialize(original.serialize());
  CHECK(rebuilt->name() == "twice");
  CHECK((*rebuilt)(Tensor::ones({1, 2})).to_vector() == std::vector<double>{2, 2});
  REQUIRE_THROWS_WITH(layers::register_layer("Dense", [](const nlohmann::json&) -> layers::LayerPtr { return nullptr; }),
                      Contains("'Dense'") && Contains("built-in"));
}

TEST_CASE("every built-in layer round-trips through serialize and deserialize with a strict config",
          "[layers][registry]") {
  const std::vector<layers::LayerPtr> all = {
      layers::Activation({.activation = "relu"}),
      layers::AveragePooling2D({.pool_size = {2, 3}}),
      layers::BatchNormalization({.axis = {1, 2}, .momentum = 0.9, .renorm = true, .renorm_clipping = {.rmax = 3.0}}),
      layers::Conv2D({.filters = 2, .kernel_size = 3, .padding = "same"}),
      layers::Dense({.units = 3, .activation = "tanh", .use_bias = false}),
      layers::Dropout({.rate = 0.5, .seed = 3}),
      layers::Flatten({}),
      layers::GlobalAveragePooling2D({.keepdims = true}),
      layers::GlobalMaxPooling2D({}),
      layers::Input({.shape = {4, -1}}),
      layers::MaxPooling2D({.strides = 1}),
      layers::RandomFlip({.mode = "vertical", .seed = 1}),
      layers::RandomTranslation({.height_factor = 0.1, .width_factor = {-0.2, 0.3}, .fill_mode = "constant"}),
      layers::Rescaling({.scale = 0.5, .offset = -1}),
      layers::Reshape({.target_shape = {2, -1}}),
      layers::ZeroPadding2D({.padding = {{1, 2}, {3, 4}}}),
  };
  for (const auto& layer : all) {
    const std::string cls = layer->class_name();
    INFO(cls);
    layer->set_trainable(false);
    const nlohmann::json serialized = layer->serialize();
    auto back = layers::deserialize(serialized);
    CHECK(back->serialize() == serialized);
    CHECK_FALSE(back->trainable());
    auto with = [&](const char* key, const nlohmann::json& value) {
      nlohmann::json changed = serialized;
      changed["config"][key] = value;
      return changed;
    };
    KEEL_CHECK_THROWS(layers::deserialize(with("not_an_argument", 1)), keel::ValueError,
                      Contains(cls) && Contains("'not_an_argument'"));
    KEEL_CHECK_THROWS(layers::deserialize(with("name", 5)), keel::ValueError, Contains(cls) && Contains("'name'"));
    KEEL_CHECK_THROWS(layers::deserialize(with("trainable", "no")), keel::ValueError,
                      Contains(cls) && Contains("'trainable'"));
    // An InputLayer's dtype is its inputs', which may be int64 (index inputs); no layer computes in bool.
    KEEL_CHECK_THROWS(layers::deserialize(with("dtype", cls == "InputLayer" ? "bool" : "int64")), keel::ValueError,
                      Contains(cls) && Contains("'dtype'"));
    KEEL_CHECK_THROWS(layers::deserialize({{"class_name", cls}, {"config", {1, 2}}}), keel::ValueError, Contains(cls));
  }
}

TEST_CASE("layer configs refuse non-integral and mistyped arguments instead of truncating them", "[layers][registry]") {
  auto load = [](const char* cls, nlohmann::json config) {
    return layers::deserialize({{"class_name", cls}, {"config", std::move(config)}});
  };
  KEEL_CHECK_THROWS(load("Conv2D", {{"filters", 3.5}, {"kernel_size", 3}}), keel::ValueError,
                    Contains("Conv2D") && Contains("'filters'") && Contains("3.5"));
  KEEL_CHECK_THROWS(load("Conv2D", {{"filters", 3}, {"kernel_size", {3, 2.5}}}), keel::ValueError,
                    Contains("Conv2D") && Contains("'kernel_size'"));
  KEEL_CHECK_THROWS(load("Dense", {{"units", "3"}}), keel::ValueError, Contains("Dense") && Contains("'units'"));
  KEEL_CHECK_THROWS(load("Dense", {{"units", 3}, {"use_bias", 1}}), keel::ValueError, Contains("'use_bias'"));
  KEEL_CHECK_THROWS(load("Dense", {{"units", 3}, {"activation", 1}}), keel::ValueError, Contains("'activation'"));
  KEEL_CHECK_THROWS(load("Dropout", {{"rate", 0.5}, {"seed", -1}}), keel::ValueError,
                    Contains("Dropout") && Contains("'seed'"));
  KEEL_CHECK_THROWS(load("Dropout", {{"rate", "half"}}), keel::ValueError, Contains("'rate'"));
  KEEL_CHECK_THROWS(load("Reshape", {{"target_shape", {2, 1.5}}}), keel::ValueError,
                    Contains("Reshape") && Contains("'target_shape'"));
  KEEL_CHECK_THROWS(load("InputLayer", {{"shape", 4}}), keel::ValueError, Contains("InputLayer") && Contains("'shape'"));
  KEEL_CHECK_THROWS(load("MaxPooling2D", {{"pool_size", 2.5}}), keel::ValueError, Contains("'pool_size'"));
  KEEL_CHECK_THROWS(load("ZeroPadding2D", {{"padding", {{1, 2}, {3, 0.5}}}}), keel::ValueError, Contains("'padding'"));
  KEEL_CHECK_THROWS(load("RandomTranslation", {{"height_factor", "big"}}), keel::ValueError,
                    Contains("'height_factor'"));
  KEEL_CHECK_THROWS(load("BatchNormalization", {{"axis", 1.5}}), keel::ValueError,
                    Contains("BatchNormalization") && Contains("'axis'"));
  KEEL_CHECK_THROWS(load("BatchNormalization", {{"virtual_batch_size", 2.5}}), keel::ValueError,
                    Contains("'virtual_batch_size'"));
  KEEL_CHECK_THROWS(load("BatchNormalization", {{"momentum", "0.9"}}), keel::ValueError, Contains("'momentum'"));
  KEEL_CHECK_THROWS(load("GlobalMaxPooling2D", {{"keepdims", "yes"}}), keel::ValueError, Contains("'keepdims'"));
}
