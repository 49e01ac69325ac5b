// Keras 3's weight paths (keras/src/saving/saving_lib.py): layers keyed by snake-cased class name and a
// per-model counter, InputLayer only in Functional models, nested models nested, variables by position.
#include "keel/models/detail/keras3_layout.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "keel/layers/batch_normalization.h"
#include "keel/layers/conv2d.h"
#include "keel/layers/dense.h"
#include "keel/layers/dropout.h"
#include "keel/layers/input.h"
#include "keel/layers/flatten.h"
#include "keel/models/functional.h"
#include "keel/models/sequential.h"

using namespace keel;
using keel::models::detail::keras3_groups;
using keel::models::detail::keras3_variables;

namespace {

std::vector<std::string> group_paths(const layers::Layer& model) {
  std::vector<std::string> out;
  for (const auto& g : keras3_groups(model)) out.push_back(g.path);
  return out;
}

// "path -> short weight name" for each variable, e.g. "layers/dense/vars/0 kernel".
std::vector<std::string> variable_lines(const layers::Layer& model) {
  std::vector<std::string> out;
  for (const auto& [path, v] : keras3_variables(model))
    out.push_back(path + " " + v.name().substr(v.name().rfind('/') + 1));
  return out;
}

}  // namespace

TEST_CASE("Keras 3 layout of a Sequential: class-name keys with counters, no InputLayer", "[keras3][layout]") {
  auto model = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
      layers::Input({.shape = {4, 4, 1}}), layers::Conv2D({.filters = 2, .kernel_size = 3}),
      layers::Conv2D({.filters = 2, .kernel_size = 1}), layers::BatchNormalization({}), layers::Dropout({.rate = 0.5}),
      layers::Flatten({}), layers::Dense({.units = 3})});
  CHECK(group_paths(*model) == std::vector<std::string>{"", "layers/conv2d", "layers/conv2d_1",
                                                        "layers/batch_normalization", "layers/dropout",
                                                        "layers/flatten", "layers/dense"});
  CHECK(variable_lines(*model) ==
        std::vector<std::string>{"layers/conv2d/vars/0 kernel", "layers/conv2d/vars/1 bias",
                                 "layers/conv2d_1/vars/0 kernel", "layers/conv2d_1/vars/1 bias",
                                 "layers/batch_normalization/vars/0 gamma", "layers/batch_normalization/vars/1 beta",
                                 "layers/batch_normalization/vars/2 moving_mean",
                                 "layers/batch_normalization/vars/3 moving_variance",
                                 "layers/dense/vars/0 kernel", "layers/dense/vars/1 bias"});
}

TEST_CASE("Keras 3 layout of a Functional model lists its InputLayer and nests an inner model",
          "[keras3][layout]") {
  auto inner = std::make_shared<Sequential>(
      std::vector<layers::LayerPtr>{layers::Input({.shape = {3}}), layers::Dense({.units = 3}),
                                    layers::BatchNormalization({.center = false})});
  auto x = keel::Input({.shape = {3}});
  auto h = layers::Dense({.units = 3})(x);
  auto model = Model::functional(x, layers::Dense({.units = 2})((*inner)(h)));
  CHECK(group_paths(*model) ==
        std::vector<std::string>{"", "layers/input_layer", "layers/dense", "layers/sequential",
                                 "layers/sequential/layers/dense", "layers/sequential/layers/batch_normalization",
                                 "layers/dense_1"});
  CHECK(variable_lines(*model) ==
        std::vector<std::string>{"layers/dense/vars/0 kernel", "layers/dense/vars/1 bias",
                                 "layers/sequential/layers/dense/vars/0 kernel",
                                 "layers/sequential/layers/dense/vars/1 bias",
                                 "layers/sequential/layers/batch_normalization/vars/0 gamma",
                                 "layers/sequential/layers/batch_normalization/vars/1 moving_mean",
                                 "layers/sequential/layers/batch_normalization/vars/2 moving_variance",
                                 "layers/dense_1/vars/0 kernel", "layers/dense_1/vars/1 bias"});
}
