// The Strategy interface's pieces that need no transport: shares of a global batch, the single-replica
// default and scopes, bucketed all-reduce and varying-length gathers over the in-process test double.
#include <catch2/catch.hpp>

#include <numeric>

#include "../support/in_process_replicas.h"
#include "keel/core/error.h"
#include "keel/core/strategy.h"

using Catch::Matchers::Contains;
using keel::Tensor;
namespace distribute = keel::distribute;

TEST_CASE("share_of gives contiguous shares in rank order whose sizes differ by at most one", "[strategy]") {
  for (std::int64_t batch = 0; batch <= 11; ++batch)
    for (int replicas = 1; replicas <= 5; ++replicas) {
      std::int64_t next = 0, smallest = batch, largest = 0;
      for (int r = 0; r < replicas; ++r) {
        distribute::Share s = distribute::share_of(batch, replicas, r);
        CHECK(s.begin == next);
        next = s.end;
        smallest = std::min(smallest, s.size());
        largest = std::max(largest, s.size());
      }
      CHECK(next == batch);
      CHECK(largest - smallest <= 1);
    }
  CHECK(distribute::share_of(7, 3, 0).size() == 3);  // the first 7 % 3 ranks get one more
  CHECK(distribute::share_of(7, 3, 2).begin == 5);
  CHECK(distribute::share_of(1, 4, 3).size() == 0);
  REQUIRE_THROWS_WITH(distribute::share_of(4, 2, 2), Contains("share_of") && Contains("rank 2"));
  REQUIRE_THROWS_AS(distribute::share_of(-1, 2, 0), keel::ValueError);
}

TEST_CASE("Without a scope fit runs under the single-replica default and scopes nest", "[strategy]") {
  distribute::Strategy& fallback = distribute::current_strategy();
  CHECK(fallback.num_replicas() == 1);
  CHECK(fallback.is_chief());
  distribute::SingleReplicaStrategy mine;
  {
    distribute::StrategyScope scope(mine);
    CHECK(&distribute::current_strategy() == &mine);
  }
  CHECK(&distribute::current_strategy() == &fallback);
  std::vector<Tensor> summed = mine.all_reduce_tensors({Tensor::full({2}, 3.0)});
  CHECK(summed[0].to_vector() == std::vector<double>{3, 3});
  CHECK(mine.all_reduce_stats().calls == 1);
  REQUIRE_THROWS_WITH(mine.all_reduce_tensors({Tensor::zeros({2}, keel::DType::int64)}),
                      Contains("all_reduce_tensors") && Contains("int64"));
}

namespace {

// Two replicas as threads: all_gather meets at a barrier; the bulk all-reduce sums gathered copies.
class ThreadReplica : public distribute::Strategy {
 public:
  explicit ThreadReplica(keel::ReplicaContext& inner) : inner_(inner) {}
  int num_replicas() const override { return inner_.num_replicas(); }
  int rank() const override { return inner_.rank(); }
  std::vector<double> all_gather(std::span<const double> local) override { return inner_.all_gather(local); }
  void broadcast(std::span<std::byte>, int) override {}
  void barrier() override {}

 protected:
  void all_reduce_sum_in_place(std::span<float> data) override { sum(data); }
  void all_reduce_sum_in_place(std::span<double> data) override { sum(data); }

 private:
  template <class T>
  void sum(std::span<T> data) {
    std::vector<double> mine(data.begin(), data.end());
    all_reduce_sum(mine);
    std::copy(mine.begin(), mine.end(), data.begin());
  }
  keel::ReplicaContext& inner_;
};

}  // namespace

TEST_CASE("Bucketed all-reduce packs tensors per dtype into few calls and varying gathers keep rank order",
          "[strategy]") {
  keel::test::InProcessReplicas replicas(2);
  std::vector<std::vector<Tensor>> results(2);
  std::vector<std::int64_t> calls(2);
  std::vector<std::vector<double>> gathered(2);
  std::vector<std::vector<std::int64_t>> counts(2);
  replicas.run([&](int rank) {
    ThreadReplica strategy(*keel::current_replica_context());
    const double r = rank;
    std::vector<Tensor> grads{Tensor::full({3}, 1 + r), Tensor::full({2}, 10 * r, keel::DType::float64),
                              Tensor::full({4}, 2 * r), Tensor::full({6}, 1.0)};
    // 16 bytes per bucket: float32 {3}, {4}, {6} each alone (3 calls); float64 {2} (1 call).
    results[rank] = strategy.all_reduce_tensors(grads, 16);
    calls[rank] = strategy.all_reduce_stats().calls;
    std::vector<double> local(static_cast<std::size_t>(rank == 0 ? 1 : 3));
    std::iota(local.begin(), local.end(), 10.0 * rank);
    gathered[rank] = strategy.all_gather_varying(local, &counts[rank]);
  });
  for (int rank = 0; rank < 2; ++rank) {
    CHECK(calls[rank] == 4);
    CHECK(results[rank][0].to_vector() == std::vector<double>(3, 3.0));
    CHECK(results[rank][1].to_vector() == std::vector<double>(2, 10.0));
    CHECK(results[rank][1].dtype() == keel::DType::float64);
    CHECK(results[rank][2].to_vector() == std::vector<double>(4, 2.0));
    CHECK(results[rank][3].to_vector() == std::vector<double>(6, 2.0));
    CHECK(gathered[rank] == std::vector<double>{0, 10, 11, 12});
    CHECK(counts[rank] == std::vector<std::int64_t>{1, 3});
  }
}
