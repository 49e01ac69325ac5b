#pragma once
// A compiled model's optimizer in Keras 3's weights file: the datasets "optimizer/vars/0", "1", ... in the
// order of Keras 3.6's `optimizer.variables` (keras/src/optimizers/base_optimizer.py and each optimizer's
// build()):
//   0  iterations, an int64 scalar
//   1  the learning rate, a float32 scalar (absent when it is a schedule)
//   then the slots, in the order each Keras optimizer's build() creates them over the model's trainable
//   variables v0, v1, ... (models/detail/keras3_layout.h):
//     Adam, AdamW  m(v0), v(v0), m(v1), v(v1), ..., then v_hat(v0), v_hat(v1), ... when amsgrad
//     SGD          momentum(v0), momentum(v1), ... when momentum != 0
//     RMSprop      velocity of each variable, then momentum of each (momentum > 0), then average_gradient of
//                  each (centered)
//     Adagrad      accumulator(v0), accumulator(v1), ...
// keel creates slots at a variable's first step, so before the first step only the first datasets exist.
#include <optional>
#include <string>
#include <vector>

#include "keel/models/detail/hdf5.h"
#include "keel/optim/optimizer.h"

namespace keel {
class Model;
}

namespace keel::models::detail {

// Writes the compiled `model`'s optimizer under "optimizer/vars". Once any trainable variable has slots,
// every trainable variable's slots are written (initial values for one not stepped yet), as Keras writes a
// built optimizer. ValueError for an optimizer class whose Keras 3 variable order keel does not know.
void write_keras3_optimizer(const Model& model, const io::hdf5::Group& root);

// The optimizer state a weights file holds for `model`'s optimizer, read and checked, ready to restore.
struct Keras3OptimizerState {
  optim::NamedTensors snapshot;     // for Optimizer::load_state with `variables`
  optim::KeyedVariables variables;  // the model's trainable variables under their dataset paths
  std::optional<double> learning_rate;
};

// Reads "optimizer/vars" for `model`'s optimizer. nullopt when the model is not compiled or the file has no
// optimizer variables. Every mismatch (the number of datasets, a missing dataset, a shape or element type
// that does not fit the slot's variable, an iteration count out of range) is appended to `problems`, naming
// the dataset and the variable; nothing is returned then.
std::optional<Keras3OptimizerState> read_keras3_optimizer(const Model& model, const io::hdf5::Group& root,
                                                          std::vector<std::string>& problems);

// Gives `model`'s optimizer the state read above: its iteration count, its slots, and the learning rate when
// the file's differs from the compiled one at float32 precision (a callback changed it during training).
void restore_keras3_optimizer(const Model& model, const Keras3OptimizerState& state);

}  // namespace keel::models::detail
