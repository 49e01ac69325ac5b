#include "keel/data/dataset.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "keel/core/error.h"
#include "keel/core/parallel.h"
#include "keel/core/random.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::Tensor;
using keel::data::Dataset;
using keel::data::Element;

namespace {

// 0, 1, ..., n-1 as a dataset of int64 scalars.
Dataset range(std::int64_t n) {
  return Dataset::from_tensor_slices({Tensor::arange(0, static_cast<double>(n), 1, DType::int64)});
}

// Every element's first tensor, flattened, in order.
std::vector<double> values_of(const Dataset& ds) {
  std::vector<double> out;
  for (const Element& e : ds) {
    for (double v : e[0].to_vector()) out.push_back(v);
  }
  return out;
}

std::vector<double> iota(std::int64_t n) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  return v;
}

Element add_one(Element e) { return {Tensor::scalar(e[0].item() + 1, DType::int64)}; }

// it.next() throws E with a message containing `fragment` (evaluated once: a pass cannot be rewound).
template <class E>
void check_next_throws(keel::data::DatasetIterator& it, const std::string& fragment) {
  try {
    it.next();
    FAIL("no exception");
  } catch (const E& e) {
    CHECK_THAT(e.what(), Contains(fragment));
  }
}

// Resets keel's thread count when a test that changes it ends, however it ends.
struct RestoreThreads {
  ~RestoreThreads() { keel::set_num_threads(0); }
};

}  // namespace

TEST_CASE("Dataset.from_tensor_slices cuts tensors along the first axis and batch stacks them", "[data][dataset]") {
  const Tensor x = Tensor::arange(0, 10).reshape({5, 2});
  const Tensor y = Tensor::from_vector({4, 3, 2, 1, 0}, {5}, DType::int64);
  const Dataset samples = Dataset::from_tensor_slices({x, y});
  CHECK(samples.cardinality() == 5);
  std::vector<Element> got;
  for (const Element& e : samples) got.push_back(e);
  REQUIRE(got.size() == 5);
  CHECK(got[3][0].shape() == keel::Shape{2});
  CHECK(got[3][0].to_vector() == std::vector<double>{6, 7});
  CHECK(got[3][1].dim() == 0);
  CHECK(got[3][1].item() == 1);

  const Dataset batches = samples.batch(2);
  CHECK(batches.cardinality() == 3);
  auto it = batches.iterator();
  Element b = *it.next();
  CHECK(b[0].shape() == keel::Shape{2, 2});
  CHECK(b[0].to_vector() == std::vector<double>{0, 1, 2, 3});
  CHECK(b[1].dtype() == DType::int64);
  CHECK(b[1].to_vector() == std::vector<double>{4, 3});
  CHECK((*it.next())[0].shape() == keel::Shape{2, 2});
  Element last = *it.next();
  CHECK(last[0].shape() == keel::Shape{1, 2});
  CHECK(last[1].to_vector() == std::vector<double>{0});
  CHECK_FALSE(it.next().has_value());
  CHECK_FALSE(it.next().has_value());

  const Dataset dropped = samples.batch(2, /*drop_remainder=*/true);
  CHECK(dropped.cardinality() == 2);
  CHECK(values_of(dropped.map([](Element e) { return Element{e[1]}; })) == std::vector<double>{4, 3, 2, 1});

  const Dataset one = Dataset::from_tensors({x});
  CHECK(one.cardinality() == 1);
  CHECK(values_of(one) == iota(10));
}

TEST_CASE("Dataset take, skip and repeat follow tf.data", "[data][dataset]") {
  const Dataset ds = range(5);
  CHECK(values_of(ds.take(2)) == std::vector<double>{0, 1});
  CHECK(values_of(ds.take(9)) == iota(5));
  CHECK(values_of(ds.take(-1)) == iota(5));
  CHECK(values_of(ds.skip(3)) == std::vector<double>{3, 4});
  CHECK(values_of(ds.skip(-1)).empty());
  CHECK(values_of(ds.repeat(2)) == std::vector<double>{0, 1, 2, 3, 4, 0, 1, 2, 3, 4});
  CHECK(values_of(ds.repeat().take(7)) == std::vector<double>{0, 1, 2, 3, 4, 0, 1});
  CHECK(values_of(ds.repeat(0)).empty());
  CHECK(values_of(ds.skip(-1).repeat()).empty());  // ends instead of spinning
  CHECK(values_of(ds.skip(1).take(2).repeat(2)) == std::vector<double>{1, 2, 1, 2});

  CHECK(ds.take(2).cardinality() == 2);
  CHECK(ds.skip(3).cardinality() == 2);
  CHECK(ds.skip(9).cardinality() == 0);
  CHECK(ds.repeat(3).cardinality() == 15);
  CHECK(ds.repeat().cardinality() == keel::data::kInfiniteCardinality);
  CHECK(ds.repeat().take(4).cardinality() == 4);
  CHECK(ds.repeat().batch(2).cardinality() == keel::data::kInfiniteCardinality);
}

TEST_CASE("Dataset.shuffle is a seeded permutation, reshuffled each pass", "[data][dataset]") {
  const Dataset ds = range(50);
  const Dataset shuffled = ds.shuffle(50, 7);
  const std::vector<double> first = values_of(shuffled);
  const std::vector<double> second = values_of(shuffled);
  std::vector<double> sorted = first;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == iota(50));
  CHECK(first != iota(50));
  CHECK(second != first);                                   // reshuffle_each_iteration
  CHECK(values_of(ds.shuffle(50, 7)) == first);             // the same seed: the same first pass
  CHECK(values_of(ds.shuffle(50, 8)) != first);
  const Dataset fixed = ds.shuffle(50, 7, /*reshuffle_each_iteration=*/false);
  CHECK(values_of(fixed) == values_of(fixed));
  CHECK(values_of(ds.shuffle(1, 7)) == iota(50));            // a buffer of one keeps the order
  // A buffer of two: the first output is one of the first two inputs.
  for (std::uint64_t seed = 0; seed < 20; ++seed) CHECK(values_of(ds.shuffle(2, seed)).front() <= 1);
  // Through repeat, each epoch is a new pass with its own order.
  const std::vector<double> epochs = values_of(ds.shuffle(50, 7).repeat(2));
  CHECK(std::vector<double>(epochs.begin(), epochs.begin() + 50) == first);
  CHECK(std::vector<double>(epochs.begin() + 50, epochs.end()) == second);
  // Without a seed, keel's global stream picks one.
  keel::set_random_seed(5);
  const std::vector<double> a = values_of(ds.shuffle(50));
  keel::set_random_seed(5);
  CHECK(values_of(ds.shuffle(50)) == a);
}

TEST_CASE("A shuffled, mapped, batched, prefetched pipeline gives the same batches for 1, 2 and 4 threads",
          "[data][dataset]") {
  RestoreThreads restore;
  const Tensor x = Tensor::arange(0, 300).reshape({100, 3});
  const Tensor y = Tensor::arange(0, 100, 1, DType::int64);
  std::vector<std::vector<double>> runs;
  for (int threads : {1, 2, 4}) {
    keel::set_num_threads(threads);
    // kAutotune: map's window is the thread count, so each run pulls and maps in different groups.
    const Dataset ds = Dataset::from_tensor_slices({x, y})
                           .shuffle(32, 11)
                           .map([](Element e) { return Element{e[0].to(DType::float64), e[1]}; })
                           .batch(8)
                           .prefetch(2)
                           .repeat(2);
    std::vector<double> run;
    for (const Element& b : ds) {
      CHECK(b[0].dtype() == DType::float64);
      for (double v : b[0].to_vector()) run.push_back(v);
      for (double v : b[1].to_vector()) run.push_back(v);
    }
    runs.push_back(run);
  }
  CHECK(runs[0] == runs[1]);
  CHECK(runs[0] == runs[2]);
  REQUIRE(runs[0].size() == 2 * 400);
}

TEST_CASE("Dataset.map runs calls in parallel and keeps the input order", "[data][dataset]") {
  RestoreThreads restore;
  keel::set_num_threads(2);
  std::atomic<int> running{0}, most{0};
  const Dataset ds = range(8).map(
      [&](Element e) {
        const int now = ++running;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        // Each call waits (up to 2 s) until two calls have run at once, so a slow-starting worker thread
        // cannot make the check below flaky; serial calls wait out the timeout and fail it.
        const auto start = std::chrono::steady_clock::now();
        while (most.load() < 2 && std::chrono::steady_clock::now() - start < std::chrono::seconds(2))
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        // Later elements finish first, so an order kept by completion time would come out reversed.
        std::this_thread::sleep_for(std::chrono::milliseconds(2 * (8 - static_cast<int>(e[0].item()))));
        --running;
        return add_one(std::move(e));
      },
      4);
  CHECK(values_of(ds) == std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(most.load() >= 2);
  CHECK(values_of(range(3).map(add_one, 1)) == std::vector<double>{1, 2, 3});
}

TEST_CASE("Dataset errors reach the consumer after the elements before them", "[data][dataset]") {
  const auto failing = [](Element e) {
    if (e[0].item() == 3) throw keel::ValueError("element 3 is bad");
    return e;
  };
  for (const Dataset& ds : {range(6).map(failing, 4), range(6).map(failing, 1).prefetch(3)}) {
    auto it = ds.iterator();
    for (int i = 0; i < 3; ++i) CHECK(it.next().has_value());
    check_next_throws<keel::ValueError>(it, "element 3 is bad");
    CHECK_FALSE(it.next().has_value());  // the pass ends at the error
  }
}

TEST_CASE("Dataset.prefetch prepares elements ahead on a background thread", "[data][dataset]") {
  std::atomic<int> produced{0};
  const Dataset ds = range(20).map(
      [&](Element e) {
        ++produced;
        return e;
      },
      1).prefetch(3);
  {
    auto it = ds.iterator();
    CHECK(it.next()->at(0).item() == 0);
    // One element handed out and three waiting: the producer runs ahead by exactly the buffer.
    for (int i = 0; i < 400 && produced.load() < 4; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(produced.load() == 4);
  }  // destroyed mid-pass: the background thread stops
  CHECK(produced.load() == 4);
  CHECK(values_of(ds) == iota(20));
}

TEST_CASE("Dataset.cache runs the pipeline once and replays it", "[data][dataset]") {
  std::atomic<int> calls{0};
  const Dataset ds = range(5).map(
      [&](Element e) {
        ++calls;
        return add_one(std::move(e));
      },
      1).cache();
  CHECK(values_of(ds.take(2)) == std::vector<double>{1, 2});  // a partial pass caches nothing
  CHECK(calls.load() == 2);
  CHECK(values_of(ds) == std::vector<double>{1, 2, 3, 4, 5});
  CHECK(calls.load() == 7);
  CHECK(values_of(ds) == std::vector<double>{1, 2, 3, 4, 5});
  CHECK(values_of(ds.repeat(3)).size() == 15);
  CHECK(calls.load() == 7);
}

TEST_CASE("Dataset refuses bad arguments and mismatched elements", "[data][dataset]") {
  KEEL_CHECK_THROWS(Dataset::from_tensor_slices({Tensor::zeros({3}), Tensor::zeros({4, 2})}), keel::ShapeError,
                    Contains("tensor 1 has 4 rows") && Contains("tensor 0 has 3"));
  KEEL_CHECK_THROWS(Dataset::from_tensor_slices({Tensor::scalar(1)}), keel::ShapeError, Contains("scalar"));
  KEEL_CHECK_THROWS(Dataset::from_tensors({}), keel::ValueError, Contains("at least one tensor"));
  KEEL_CHECK_THROWS(Dataset::from_tensors({Tensor()}), keel::ValueError, Contains("tensor 0 is undefined"));
  const Dataset ds = range(4);
  KEEL_CHECK_THROWS(ds.batch(0), keel::ValueError, Contains("batch_size must be >= 1, got 0"));
  KEEL_CHECK_THROWS(ds.shuffle(0), keel::ValueError, Contains("buffer_size must be >= 1"));
  KEEL_CHECK_THROWS(ds.prefetch(0), keel::ValueError, Contains("buffer_size must be >= 1"));
  KEEL_CHECK_THROWS(ds.take(-2), keel::ValueError, Contains("count must be >= -1"));
  KEEL_CHECK_THROWS(ds.map(add_one, 0), keel::ValueError, Contains("num_parallel_calls"));
  const Dataset ragged = ds.map([](Element e) { return Element{Tensor::zeros({e[0].item() < 2 ? 2 : 3})}; });
  auto it = ragged.batch(4).iterator();
  check_next_throws<keel::ShapeError>(it, "tensor 0 of element 2 of the batch is float32 [3], of element 0 float32 [2]");
  CHECK_FALSE(it.next().has_value());  // the pass ended at the error
}

namespace {

// One shard's pass: per element, (values, global_rows, first_row).
struct ShardPass {
  std::vector<std::vector<double>> values;
  std::vector<std::int64_t> global_rows, first_rows;
};

ShardPass shard_pass(const Dataset& ds, int num_shards, int index) {
  ShardPass out;
  auto it = ds.shard_iterator(num_shards, index);
  while (std::optional<keel::data::ShardElement> e = it.next()) {
    out.values.push_back(e->rows[0].to_vector());
    out.global_rows.push_back(e->global_rows);
    out.first_rows.push_back(e->first_row);
  }
  return out;
}

// A map that records which samples it was called on.
struct CallLog {
  std::mutex mutex;
  std::vector<double> samples;
  std::function<Element(Element)> fn() {
    return [this](Element e) {
      std::lock_guard lock(mutex);
      samples.push_back(e[0].item());
      return e;
    };
  }
  std::vector<double> sorted() {
    std::vector<double> s = samples;
    std::sort(s.begin(), s.end());
    samples.clear();
    return s;
  }
};

}  // namespace

TEST_CASE("Dataset.shard_iterator gives each shard its share of each batch and maps only its samples",
          "[data][dataset]") {
  CallLog log;
  // Batches {0..3}, {4..7}, {8, 9, 10}; share_of(4, 3, r) is [0,2) [2,3) [3,4), share_of(3, 3, r) one row each.
  const Dataset ds = range(11).map(log.fn(), 2).batch(4).prefetch(2);
  ShardPass s0 = shard_pass(ds, 3, 0);
  CHECK(s0.values == std::vector<std::vector<double>>{{0, 1}, {4, 5}, {8}});
  CHECK(s0.global_rows == std::vector<std::int64_t>{4, 4, 3});
  CHECK(s0.first_rows == std::vector<std::int64_t>{0, 0, 0});
  CHECK(log.sorted() == std::vector<double>{0, 1, 4, 5, 8});
  ShardPass s1 = shard_pass(ds, 3, 1);
  CHECK(s1.values == std::vector<std::vector<double>>{{2}, {6}, {9}});
  CHECK(s1.first_rows == std::vector<std::int64_t>{2, 2, 1});
  CHECK(log.sorted() == std::vector<double>{2, 6, 9});
  ShardPass s2 = shard_pass(ds, 3, 2);
  CHECK(s2.values == std::vector<std::vector<double>>{{3}, {7}, {10}});
  CHECK(s2.first_rows == std::vector<std::int64_t>{3, 3, 2});
  CHECK(log.sorted() == std::vector<double>{3, 7, 10});

  SECTION("one shard is the whole pass") {
    ShardPass all = shard_pass(ds, 1, 0);
    CHECK(all.values == std::vector<std::vector<double>>{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10}});
    CHECK(all.global_rows == std::vector<std::int64_t>{4, 4, 3});
    CHECK(log.sorted() == iota(11));
  }
  SECTION("a shard with no rows of the last batch gets an empty batch; one sample is read for its shape") {
    // Batches {0, 1} and {2}: share_of(1, 2, 1) is empty.
    const Dataset small = range(3).map(log.fn(), 1).batch(2);
    ShardPass s = shard_pass(small, 2, 1);
    CHECK(s.values == std::vector<std::vector<double>>{{1}, {}});
    CHECK(s.global_rows == std::vector<std::int64_t>{2, 1});
    CHECK(log.sorted() == std::vector<double>{1, 2});
  }
  SECTION("drop_remainder: the dropped batch gives no element") {
    const Dataset dropped = range(7).batch(3, true);
    CHECK(shard_pass(dropped, 2, 0).values == std::vector<std::vector<double>>{{0, 1}, {3, 4}});
    CHECK(shard_pass(dropped, 2, 1).values == std::vector<std::vector<double>>{{2}, {5}});
  }
  SECTION("a map over batches runs on whole batches, which are then cut") {
    const Dataset batch_map = range(5).batch(2).map([&log](Element e) {
      log.fn()({Tensor::scalar(e[0].size(0))});
      return e;
    });
    CHECK(shard_pass(batch_map, 2, 1).values == std::vector<std::vector<double>>{{1}, {3}, {}});
    CHECK(log.sorted() == std::vector<double>{1, 2, 2});  // the batches' sizes: every batch was mapped whole
  }
}

TEST_CASE("Dataset.shard_iterator refuses shards that do not exist and unbatched scalars", "[data][dataset]") {
  KEEL_CHECK_THROWS(range(4).shard_iterator(0, 0), keel::ValueError, Contains("shard 0 of 0"));
  KEEL_CHECK_THROWS(range(4).shard_iterator(2, 2), keel::ValueError, Contains("shard 2 of 2"));
  KEEL_CHECK_THROWS(range(4).shard_iterator(2, -1), keel::ValueError, Contains("shard -1 of 2"));
  KEEL_CHECK_THROWS(range(4).shard_iterator(2, 0).next(), keel::ValueError, Contains("tensor 0 of element 0 is a scalar"));
}
