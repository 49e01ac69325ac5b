#pragma once
// Dataset: a lazily evaluated sequence of elements, each one or several tensors (features, labels, ...),
// built from tensors and transformed as tf.data's Dataset is: batch, shuffle, map, prefetch, take, skip,
// repeat and cache. Nothing is read or computed until a pass iterates it; each pass (iterator()) starts
// from the beginning. Datasets are cheap values: a transformation returns a new Dataset that shares the
// pipeline built so far.
//
//   auto ds = data::Dataset::from_tensor_slices({x, y}).shuffle(1024, 7).batch(32).prefetch(2);
//   for (const data::Element& batch : ds) { ... batch[0] ... batch[1] ... }
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <vector>

#include "keel/core/tensor.h"

namespace keel::data {

// One element of a dataset: a sample (before batch) or a batch, as one or several tensors.
using Element = std::vector<Tensor>;

// Dataset::cardinality() for a dataset without end (repeat()) and for one whose length is not known.
inline constexpr std::int64_t kInfiniteCardinality = -1;
inline constexpr std::int64_t kUnknownCardinality = -2;
// Dataset::map's num_parallel_calls: as many calls in flight as keel has threads (keel::num_threads()).
inline constexpr int kAutotune = -1;

namespace detail {
class DatasetNode;
class ElementStream;
}  // namespace detail

// One pass over a dataset. Move-only; destroying it stops any background work it started.
class DatasetIterator {
 public:
  explicit DatasetIterator(std::unique_ptr<detail::ElementStream> stream);
  DatasetIterator(DatasetIterator&&) noexcept;
  DatasetIterator& operator=(DatasetIterator&&) noexcept;
  ~DatasetIterator();

  // The next element, or nothing at the end of the pass. An error raised while producing an element
  // (a corrupt file, a map function that throws) is thrown here, after the elements before it, and
  // ends the pass: later calls return nothing.
  std::optional<Element> next();

 private:
  std::unique_ptr<detail::ElementStream> stream_;
  bool ended_ = false;
};

// One element of a sharded pass (Dataset::shard_iterator): rows [first_row, first_row + rows) of each
// tensor of an element that has global_rows rows in all.
struct ShardElement {
  Element rows;
  std::int64_t global_rows = 0;
  std::int64_t first_row = 0;
};

// One shard's pass over a dataset. Move-only; errors as DatasetIterator's.
class ShardIterator {
 public:
  // The shard's rows of the next element, or nothing at the end of the pass.
  std::optional<ShardElement> next();

 private:
  friend class Dataset;
  ShardIterator(DatasetIterator pass, int num_shards, int index, std::function<std::int64_t(std::int64_t)> rows_of_batch);

  DatasetIterator pass_;
  int num_shards_;
  int index_;
  // Rows of element k when the pass yields only this shard's rows; empty when it yields whole elements.
  std::function<std::int64_t(std::int64_t)> rows_of_batch_;
  std::int64_t element_ = 0;
  bool ended_ = false;
};

class Dataset {
 public:
  // A dataset of one element: `tensors` as given. ValueError for no tensors or an undefined one.
  static Dataset from_tensors(Element tensors);
  // Element i is (tensors[0][i], tensors[1][i], ...): every tensor is cut along its first axis, which
  // must have the same size in all of them (ShapeError naming the sizes otherwise). The elements are views.
  static Dataset from_tensor_slices(Element tensors);

  // Stacks `batch_size` consecutive elements along a new first axis; the last batch is smaller unless
  // `drop_remainder`. ValueError for batch_size < 1; ShapeError naming the element when the elements of a
  // batch differ in shape, dtype or number of tensors.
  Dataset batch(std::int64_t batch_size, bool drop_remainder = false) const;
  // tf.data's buffered shuffle: a buffer of `buffer_size` elements is filled, and each output is drawn
  // uniformly from it and replaced by the next input. buffer_size >= the dataset's length shuffles it
  // completely. The order depends only on `seed` and the pass number (never on thread counts); without a
  // seed one is taken from keel's global stream (set_random_seed). `reshuffle_each_iteration`: each pass
  // (each epoch) draws a new order; false repeats the first pass's order. ValueError for buffer_size < 1.
  Dataset shuffle(std::int64_t buffer_size, std::optional<std::uint64_t> seed = std::nullopt,
                  bool reshuffle_each_iteration = true) const;
  // Applies `fn` to every element: to each sample before batch(), to each batch after it. Up to
  // `num_parallel_calls` calls run at once on oneTBB (kAutotune: keel::num_threads()); the output keeps the
  // input's order whatever the thread count. `fn` must be safe to call from several threads at once.
  // ValueError for num_parallel_calls < 1 other than kAutotune.
  Dataset map(std::function<Element(Element)> fn, int num_parallel_calls = kAutotune) const;
  // Prepares up to `buffer_size` elements ahead on a background thread while the consumer works on the
  // current one. ValueError for buffer_size < 1.
  Dataset prefetch(std::int64_t buffer_size) const;
  // The first `count` elements (all of them when count is -1). ValueError for count < -1.
  Dataset take(std::int64_t count) const;
  // All but the first `count` elements (none when count is -1). ValueError for count < -1.
  Dataset skip(std::int64_t count) const;
  // The dataset `count` times in a row, or without end when count is -1; each repetition is a new pass
  // (so a shuffle before repeat() reshuffles). Repeating an empty dataset gives an empty one. ValueError
  // for count < -1.
  Dataset repeat(std::int64_t count = -1) const;
  // Keeps the elements of the first complete pass in memory; later passes replay them without running
  // the pipeline before cache(). A pass that stops early (take, or an iterator destroyed midway) caches
  // nothing.
  Dataset cache() const;

  // The number of elements, kInfiniteCardinality or kUnknownCardinality (tf.data's convention).
  std::int64_t cardinality() const;

  // A new pass from the start.
  DatasetIterator iterator() const;
  // A new pass that gives shard `index` of `num_shards` the rows distribute::share_of(rows, num_shards,
  // index) of each element (contiguous, in shard order, sizes differing by at most one): the replicas
  // of data-parallel training each read their share of every global batch. When the dataset ends in
  // batch() (then optionally prefetch()) over an input of known length, the stages before batch() run
  // only for this shard's rows: a map() there (decoding files, for instance) is not called for the
  // other shards' samples. Otherwise the whole element is computed and cut. ValueError for num_shards < 1,
  // an index outside [0, num_shards), or (with several shards) an element holding a scalar.
  ShardIterator shard_iterator(int num_shards, int index) const;

  // Range-for support: `for (const Element& e : dataset)` makes one pass.
  class PassIterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Element;
    using difference_type = std::ptrdiff_t;
    using pointer = const Element*;
    using reference = const Element&;
    struct End {};

    explicit PassIterator(DatasetIterator it);
    const Element& operator*() const { return *current_; }
    const Element* operator->() const { return &*current_; }
    PassIterator& operator++();
    bool operator==(End) const { return !current_.has_value(); }

   private:
    DatasetIterator it_;
    std::optional<Element> current_;
  };
  PassIterator begin() const { return PassIterator(iterator()); }
  PassIterator::End end() const { return {}; }

 private:
  explicit Dataset(std::shared_ptr<const detail::DatasetNode> node);
  std::shared_ptr<const detail::DatasetNode> node_;
};

}  // namespace keel::data
