#pragma once
// Where fit and evaluate take their batches from (Keras 3's EpochIterator over its data adapters): one
// interface, so the training loop is the same for tensors and for a data::Dataset.
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "keel/core/tensor.h"
#include "keel/models/model.h"

namespace keel::models::detail {

class EpochIterator {
 public:
  virtual ~EpochIterator() = default;
  // Batches per epoch; 0 when not known (the progress bar then shows no fraction).
  virtual std::int64_t steps() const = 0;
  // Starts epoch `epoch` (a new order, with shuffle).
  virtual void begin_epoch(std::int64_t epoch) = 0;
  // The epoch's next batch; nullopt at its end.
  virtual std::optional<Batch> next() = 0;
};

// In-memory tensors (one per model input and output, with as many rows each): consecutive batches of batch_size rows, the last one partial; with shuffle, the
// rows in a permutation drawn for each epoch from seed + epoch (data::shuffled_indices). Class weights
// become per-sample weights (from the one target), multiplied into the sample weights.
class TensorEpochIterator final : public EpochIterator {
 public:
  struct Options {
    std::int64_t batch_size = 32;
    bool shuffle = false;
    std::uint64_t seed = 0;
    std::map<std::int64_t, double> class_weight = {};
  };

  TensorEpochIterator(std::vector<Tensor> x, std::vector<Tensor> y, Tensor sample_weight, Options options);

  std::int64_t steps() const override { return static_cast<std::int64_t>(ranges_.size()); }
  void begin_epoch(std::int64_t epoch) override;
  std::optional<Batch> next() override;

 private:
  std::vector<Tensor> x_, y_;
  Tensor sample_weight_;
  Options options_;
  std::int64_t samples_;
  std::vector<std::pair<std::int64_t, std::int64_t>> ranges_;
  std::size_t next_range_ = 0;
  Tensor order_;  // int64 [samples], the epoch's permutation (with shuffle)
};

}  // namespace keel::models::detail
