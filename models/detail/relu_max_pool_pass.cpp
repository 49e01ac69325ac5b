#include "keel/models/detail/relu_max_pool_pass.h"

#include <algorithm>
#include <map>
#include <typeinfo>

#include "keel/layers/activation_layer.h"
#include "keel/layers/pooling2d.h"

namespace keel::models::detail {
namespace {

bool is_builtin_relu(const GraphStep& step) {
  const layers::Layer& layer = *step.node->layer;
  return typeid(layer) == typeid(layers::ActivationLayer) && step.inputs.size() == 1 && !step.then &&
         !step.reads_model_input &&
         static_cast<const layers::ActivationLayer&>(layer).options().activation.is_builtin_relu();
}

bool is_max_pool(const GraphStep& step) {
  const layers::Layer& layer = *step.node->layer;
  return typeid(layer) == typeid(layers::MaxPooling2DLayer) && step.inputs.size() == 1 && !step.then;
}

}  // namespace

void reorder_relu_before_max_pool(std::vector<GraphStep>& steps, const std::vector<std::size_t>& model_outputs) {
  std::map<std::size_t, std::size_t> readers;  // slot -> how many steps read it
  for (const GraphStep& step : steps)
    for (std::size_t slot : step.inputs) ++readers[slot];
  std::map<std::size_t, std::size_t> step_writing;  // slot -> index of the step that writes it
  for (std::size_t i = 0; i < steps.size(); ++i) step_writing[steps[i].output] = i;

  std::vector<bool> removed(steps.size(), false);
  for (GraphStep& pool : steps) {
    if (!is_max_pool(pool)) continue;
    const std::size_t relu_output = pool.inputs[0];
    auto writer = step_writing.find(relu_output);
    if (writer == step_writing.end()) continue;  // the pooling reads a model input
    GraphStep& relu = steps[writer->second];
    if (!is_builtin_relu(relu) || readers[relu_output] != 1 ||
        std::find(model_outputs.begin(), model_outputs.end(), relu_output) != model_outputs.end())
      continue;
    pool.inputs = relu.inputs;
    pool.then = relu.node->layer;
    removed[writer->second] = true;
  }
  std::vector<GraphStep> kept;
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (!removed[i]) kept.push_back(std::move(steps[i]));
  steps = std::move(kept);
}

}  // namespace keel::models::detail
