#pragma once
// Keras 3's weights file (`model.weights.h5` inside a `.keras` zip, or a `.weights.h5` file on its own):
// each variable at its Keras 3 path (models/detail/keras3_layout.h), float32 or float64 as in the model,
// and, for a compiled model, the optimizer's variables under "optimizer/vars" in Keras's order.
#include <string>

#include "keel/models/detail/hdf5.h"

namespace keel {
class Model;
}

namespace keel::models::detail {

// The weights file of `model` as the bytes of an HDF5 file; `name` names it in errors.
std::string keras3_weights_file_bytes(const Model& model, bool include_optimizer, const std::string& name);

// Reads the model's weights from a Keras 3 weights file. Every group and dataset the model needs is checked
// (presence, count, shape, element type) and every value read before the first one is assigned, so on any
// IOError (naming the file, the dataset and both shapes) the model is unchanged. Groups for layers the
// model does not have are an IOError too. With `restore_optimizer`, a compiled model's optimizer also gets
// the file's optimizer variables (models/detail/keras3_optimizer.h), checked with everything else first.
void load_keras3_weights(Model& model, const io::hdf5::File& file, bool restore_optimizer);

}  // namespace keel::models::detail
