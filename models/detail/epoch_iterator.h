#pragma once
// The batches of one epoch of in-memory data (Keras 3's EpochIterator over arrays): consecutive batches
// of batch_size rows, the last one partial; with shuffle, the rows in a permutation drawn for each epoch
// from seed + epoch (data::shuffled_indices). Class weights become per-sample weights, multiplied into
// the sample weights.
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "keel/core/tensor.h"
#include "keel/models/model.h"

namespace keel::models::detail {

class EpochIterator {
 public:
  struct Options {
    std::int64_t batch_size = 32;
    bool shuffle = false;
    std::uint64_t seed = 0;
    std::map<std::int64_t, double> class_weight = {};
  };

  EpochIterator(Tensor x, Tensor y, Tensor sample_weight, Options options);

  std::int64_t samples() const { return samples_; }
  std::int64_t steps() const { return static_cast<std::int64_t>(ranges_.size()); }
  // Draws the epoch's order (with shuffle).
  void begin_epoch(std::int64_t epoch);
  // Batch `step` of the current epoch.
  Batch batch(std::int64_t step) const;

 private:
  Tensor x_, y_, sample_weight_;
  Options options_;
  std::int64_t samples_;
  std::vector<std::pair<std::int64_t, std::int64_t>> ranges_;
  Tensor order_;  // int64 [samples], the epoch's permutation (with shuffle)
};

}  // namespace keel::models::detail
