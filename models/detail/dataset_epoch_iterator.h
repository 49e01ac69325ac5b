#pragma once
// The batches of a data::Dataset whose elements are (x, y) or (x, y, sample_weight): a new pass per
// epoch, or with steps_per_epoch one pass that continues across epochs and starts again at its end
// (Keras's behaviour). The first batch can be looked at before training starts.
//
// Under a strategy of several replicas each replica reads only its share of every batch
// (data::Dataset::shard_iterator, so the pipeline decodes only this replica's samples) and hands the
// trainer a batch of the global size in which the other replicas' rows are zeros: ReplicaGroup::local_batch
// takes back exactly this replica's rows, so the step is that of the tensor path on the same global batch.
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

  void restart_pass();

  data::Dataset dataset_;
  std::optional<std::int64_t> steps_;
  const char* what_;
  int num_shards_;
  int shard_;
  std::optional<data::ShardIterator> pass_;
  std::optional<Batch> pending_;
  std::int64_t taken_ = 0;
  std::int64_t read_ = 0;
};

}  // namespace keel::models::detail
