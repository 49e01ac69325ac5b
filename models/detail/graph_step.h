#pragma once
// One layer call of a functional model's execution plan: where its inputs are and where its output
// goes, in a table of tensor slots that Functional::call_all fills as it runs the steps in order.
#include <cstddef>
#include <memory>
#include <vector>

#include "keel/layers/layer.h"
#include "keel/layers/symbolic_tensor.h"

namespace keel::models::detail {

struct GraphStep {
  std::shared_ptr<layers::Node> node;
  std::vector<std::size_t> inputs;
  std::size_t output = 0;
  // Slots no later step reads: freed after this step, so inference keeps only what is still needed.
  std::vector<std::size_t> last_uses = {};
  // The step reads one of the model's inputs, so it receives the call's mask (masks apply there only).
  bool reads_model_input = false;
  // A layer a graph pass moved after this one: applied to the node's result (null when none).
  layers::LayerPtr then = nullptr;
  // A BatchNormalization node a graph pass runs together with this MaxPooling2D: the step reads the
  // normalization's input (layers/batch_norm_max_pool.h; null when none).
  std::shared_ptr<layers::Node> before = nullptr;
};

}  // namespace keel::models::detail
