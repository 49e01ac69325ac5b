#pragma once
// The batches of a data::Dataset whose elements are (x, y) or (x, y, sample_weight): a new pass per
// epoch, or with steps_per_epoch one pass that continues across epochs and starts again at its end
// (Keras's behaviour). The first batch can be looked at before training starts.
#include <cstdint>
#include <optional>

#include "keel/data/dataset.h"
#include "keel/models/detail/epoch_iterator.h"

namespace keel::models::detail {

class DatasetEpochIterator final : public EpochIterator {
 public:
  // `what` names the call in errors ("fit").
  DatasetEpochIterator(const data::Dataset& dataset, std::optional<std::int64_t> steps_per_epoch, const char* what);

  // The first batch (ValueError when the dataset is empty); next() returns it again.
  const Batch& first();
  std::int64_t steps() const override;
  void begin_epoch(std::int64_t epoch) override;
  std::optional<Batch> next() override;

 private:
  std::optional<Batch> read();

  data::Dataset dataset_;
  std::optional<std::int64_t> steps_;
  const char* what_;
  std::optional<data::DatasetIterator> pass_;
  std::optional<Batch> pending_;
  std::int64_t taken_ = 0;
  std::int64_t read_ = 0;
};

}  // namespace keel::models::detail
