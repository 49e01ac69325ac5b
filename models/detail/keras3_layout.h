#pragma once
// Where Keras 3 keeps each variable of a model in `model.weights.h5` (inside a `.keras` zip, or as a
// `.weights.h5` file), following keras/src/saving/saving_lib.py: the model's own variables under the root
// "vars"; each layer of a Sequential (without its InputLayer) or a Functional model (with its InputLayers)
// under "layers/<snake-cased class name>[_<counter>]", the counter counting earlier layers of the same class
// in the same model; a nested model's layers under its own path ("layers/sequential/layers/dense"); each
// layer's variables under "<path>/vars/<i>", trainable-at-creation ones first, each group in creation order
// (BatchNormalization: gamma, beta, moving_mean, moving_variance). The optimizer's variables live under
// "optimizer/vars" (models/detail/keras3_optimizer.h).
#include <string>
#include <utility>
#include <vector>

#include "keel/autograd/variable.h"
#include "keel/layers/layer.h"

namespace keel::models::detail {

// One saveable's group: `path` ("" for the root model, "layers/dense", ...) and its variables in Keras's
// order, stored as "<path>/vars/<i>" ("vars/<i>" at the root).
struct Keras3Group {
  std::string path;
  std::vector<Variable> variables;
};

// Every group of `model`, the model's own first, then its layers depth first in Keras's order. Each group
// exists in the file even without variables (Keras writes an empty "vars" group for it).
std::vector<Keras3Group> keras3_groups(const layers::Layer& model);

// The dataset path of variable `index` of `group`: "layers/dense/vars/0", or "vars/0" at the root.
std::string keras3_vars_path(const Keras3Group& group);
std::string keras3_variable_path(const Keras3Group& group, std::size_t index);

// (dataset path, variable) for every variable of `model`, in keras3_groups order.
std::vector<std::pair<std::string, Variable>> keras3_variables(const layers::Layer& model);

}  // namespace keel::models::detail
