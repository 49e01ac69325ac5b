#pragma once
// What the graph passes share: folding a step into the one step that reads its output.
#include <algorithm>
#include <cstddef>
#include <map>
#include <vector>

#include "keel/models/detail/graph_step.h"

namespace keel::models::detail {

// For each step `second` whose first input is the output of a step `first` that no other step reads and
// that is not one of `model_outputs`, with accepts(first, second): fold(first, second) rewrites `second` to
// do both, and `first` is removed. Run before last_uses are computed.
template <class Accepts, class Fold>
void fold_pairs(std::vector<GraphStep>& steps, const std::vector<std::size_t>& model_outputs, Accepts accepts,
                Fold fold) {
  std::map<std::size_t, std::size_t> readers;  // slot -> how many steps read it
  for (const GraphStep& step : steps)
    for (std::size_t slot : step.inputs) ++readers[slot];
  std::map<std::size_t, std::size_t> step_writing;  // slot -> index of the step that writes it
  for (std::size_t i = 0; i < steps.size(); ++i) step_writing[steps[i].output] = i;

  std::vector<bool> removed(steps.size(), false);
  for (GraphStep& second : steps) {
    if (second.inputs.empty()) continue;
    const std::size_t slot = second.inputs[0];
    auto writer = step_writing.find(slot);
    if (writer == step_writing.end() || removed[writer->second]) continue;  // a model input
    GraphStep& first = steps[writer->second];
    if (readers[slot] != 1 || std::find(model_outputs.begin(), model_outputs.end(), slot) != model_outputs.end() ||
        !accepts(first, second))
      continue;
    fold(first, second);
    removed[writer->second] = true;
  }
  std::vector<GraphStep> kept;
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (!removed[i]) kept.push_back(std::move(steps[i]));
  steps = std::move(kept);
}

}  // namespace keel::models::detail
