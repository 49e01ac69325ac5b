#pragma once
// Options of Model::fit on a data::Dataset (Keras's fit(x=dataset, ...)): the dataset supplies the batches,
// so there is no batch_size, validation_split, shuffle, class_weight or sample_weight here; shuffle and
// batch the dataset itself, and give weights as a third tensor of each element.
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "keel/data/dataset.h"
#include "keel/models/callbacks.h"
#include "keel/models/model.h"

namespace keel {

struct DatasetFitOptions {
  std::int64_t epochs = 1;
  int verbose = 1;  // 0 silent, 1 progress bar, 2 one line per epoch
  std::vector<std::shared_ptr<callbacks::Callback>> callbacks = {};
  // Evaluated after each epoch; its results appear in the logs as val_<name>.
  std::optional<data::Dataset> validation_data = std::nullopt;
  std::int64_t initial_epoch = 0;
  // Batches per epoch. Unset: one pass over the dataset per epoch (an infinite dataset is a ValueError).
  // Set: epochs take this many batches from one pass that continues across epochs and starts again
  // when the dataset ends (Keras's behaviour).
  std::optional<std::int64_t> steps_per_epoch = std::nullopt;
};

}  // namespace keel
