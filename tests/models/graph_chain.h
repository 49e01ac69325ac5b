#pragma once
// Graph steps for the graph passes' tests: a chain from the model input (slot 0) through `layers` in order,
// layer i reading slot i and writing slot i + 1.
#include <memory>
#include <vector>

#include "keel/layers/layer.h"
#include "keel/models/detail/graph_step.h"

namespace keel::test {

inline std::shared_ptr<layers::Node> graph_node(const layers::LayerPtr& layer) {
  return std::make_shared<layers::Node>(layers::Node{layer, {}, std::nullopt, {}});
}

inline std::vector<models::detail::GraphStep> chain_steps(const std::vector<layers::LayerPtr>& layers) {
  std::vector<models::detail::GraphStep> steps;
  for (std::size_t i = 0; i < layers.size(); ++i)
    steps.push_back({.node = graph_node(layers[i]), .inputs = {i}, .output = i + 1, .reads_model_input = i == 0});
  return steps;
}

}  // namespace keel::test
