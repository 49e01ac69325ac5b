#pragma once
// Keras's legacy HDF5 files (tf.keras 2.x, Keras 3's .h5): a full model (model_config attribute and a
// model_weights group) or weights only (layer_names at the root).
#include <memory>

#include "keel/models/detail/hdf5.h"
#include "keel/models/model.h"

namespace keel::keras {

// Builds the model from model_config, loads its weights, and compiles it when the training_config maps
// onto keel (otherwise it stays uncompiled, with a warning). IOError for anything the file lacks or breaks.
std::shared_ptr<Model> load_legacy_model(const io::hdf5::File& file);

// Loads a legacy file's weights into `model` (built): layers with weights are paired in order, as Keras
// does, and each weight is found by name through the layer group's weight_names. The model is unchanged
// when anything does not match.
void load_legacy_weights(Model& model, const io::hdf5::File& file);

}  // namespace keel::keras
