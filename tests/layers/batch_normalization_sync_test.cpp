// Synchronized BatchNormalization through the ReplicaContext seam, with two replicas simulated in-process:
// every replica normalizes with the global statistics (Chan's combination), and the gradients equal the
// single-replica gradients of the whole batch (docs/semantics.md §1.10).
#include <catch2/catch.hpp>

#include <cmath>

#include "../support/in_process_replicas.h"
#include "batch_normalization_test_support.h"
#include "keel/autograd/engine.h"
#include "keel/autograd/ops.h"
#include "keel/layers/batch_normalization.h"

using keel::Shape;
using keel::Tensor;
using keel::layers::BatchNormalization;
using keel::layers::BatchNormalizationLayer;
using keel::layers::CallContext;
using keel::test::require_close;

namespace {

struct Run {
  std::vector<double> y, gx, ggamma, gbeta, moving_mean, moving_variance;
};

// One training step of a synchronized layer on x (with mask) and upstream gradient `seed`.
Run train_step(const BatchNormalizationLayer::Options& o, const Tensor& x_in, const Tensor& seed, const Tensor& mask = {}) {
  auto bn = BatchNormalization(o);
  bn->set_dtype(keel::DType::float64);
  Tensor x = keel::set_requires_grad(x_in.clone());
  Tensor y = (*bn)(x, CallContext{.training = true, .mask = mask});
  keel::backward(keel::ops::sum(y * seed));
  return {y.to_vector(),           keel::grad(x).to_vector(),           bn->gamma().grad().to_vector(),
          bn->beta().grad().to_vector(), bn->moving_mean().value().to_vector(), bn->moving_variance().value().to_vector()};
}

Tensor values(const Shape& shape, double offset, double seed) {
  std::vector<double> v(static_cast<std::size_t>(keel::checked_numel(shape)));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = offset + std::sin(seed + 1.3 * static_cast<double>(i)) * (1 + i % 3);
  return Tensor::from_vector(v, shape, keel::DType::float64);
}

std::vector<double> concat(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

std::vector<double> add(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> out = a;
  for (std::size_t i = 0; i < out.size(); ++i) out[i] += b[i];
  return out;
}

// Splits the batch in two shards (rows [0, split) and [split, B)), runs both replicas, and compares with
// one replica on the whole batch: outputs and x-gradients concatenate, gamma/beta gradients add up.
void check_two_replicas(const BatchNormalizationLayer::Options& o, const Shape& shape, std::int64_t split,
                        const Tensor& mask = {}) {
  Tensor x = values(shape, 100, 0.5), seed = values(shape, 0, 2.5);
  Run whole = train_step(o, x, seed, mask);
  std::vector<Run> shards(2);
  keel::test::InProcessReplicas replicas(2);
  replicas.run([&](int rank) {
    const std::int64_t begin = rank == 0 ? 0 : split, length = rank == 0 ? split : shape[0] - split;
    Tensor m = mask.defined() ? mask.narrow(0, begin, length) : Tensor();
    shards[static_cast<std::size_t>(rank)] = train_step(o, x.narrow(0, begin, length), seed.narrow(0, begin, length), m);
  });
  CHECK(replicas.gathers() > 0);
  require_close(concat(shards[0].y, shards[1].y), whole.y, 1e-12, "output");
  require_close(concat(shards[0].gx, shards[1].gx), whole.gx, 1e-11, "grad x");
  require_close(add(shards[0].ggamma, shards[1].ggamma), whole.ggamma, 1e-11, "grad gamma");
  require_close(add(shards[0].gbeta, shards[1].gbeta), whole.gbeta, 1e-11, "grad beta");
  for (const Run& r : shards) {
    require_close(r.moving_mean, whole.moving_mean, 1e-12, "moving_mean");
    require_close(r.moving_variance, whole.moving_variance, 1e-12, "moving_variance");
  }
}

}  // namespace

TEST_CASE("Synchronized BatchNormalization over two replicas equals one replica on the whole batch", "[bn-sync]") {
  SECTION("fast kernel op, uneven shards") { check_two_replicas({.synchronized = true}, {7, 3}, 3); }
  SECTION("fast kernel op, NCHW with renorm") {
    check_two_replicas({.axis = {1}, .renorm = true, .synchronized = true}, {4, 2, 3, 3}, 2);
  }
  SECTION("a replica without samples") { check_two_replicas({.synchronized = true}, {5, 2}, 0); }
  SECTION("composed ops: axis list") { check_two_replicas({.axis = {1, 2}, .synchronized = true}, {6, 2, 2, 2}, 2); }
  SECTION("composed ops: mask") {
    Tensor mask = Tensor::from_vector({1, 0, 1, 1, 0, 1, 1, 1, 1, 0}, {5, 2}, keel::DType::boolean);
    check_two_replicas({.synchronized = true}, {5, 2, 3}, 2, mask);
  }
}

TEST_CASE("Without a distribution context synchronized changes nothing", "[bn-sync]") {
  Tensor x = values({6, 4}, 3, 1), seed = values({6, 4}, 0, 2);
  Run plain = train_step({}, x, seed), sync = train_step({.synchronized = true}, x, seed);
  CHECK(sync.y == plain.y);
  CHECK(sync.gx == plain.gx);
  CHECK(sync.moving_variance == plain.moving_variance);
}

TEST_CASE("ReplicaContext combines moments with Chan's formula in rank order", "[bn-sync]") {
  // Replica 0 holds {1, 2, 3} (mean 2, M2 2), replica 1 holds {10} (mean 10, M2 0). Together: mean 4,
  // deviations -3, -2, -1, 6, so M2 = 9 + 4 + 1 + 36 = 50.
  keel::test::InProcessReplicas replicas(2);
  std::vector<std::vector<keel::Moments>> got(2);
  std::vector<std::vector<double>> sums(2);
  replicas.run([&](int rank) {
    keel::ReplicaContext* rc = keel::current_replica_context();
    REQUIRE(rc != nullptr);
    CHECK(rc->rank() == rank);
    CHECK(rc->num_replicas() == 2);
    keel::Moments local = rank == 0 ? keel::Moments{3, 2, 2} : keel::Moments{1, 10, 0};
    got[static_cast<std::size_t>(rank)] = rc->all_reduce_moments(std::vector<keel::Moments>{local});
    sums[static_cast<std::size_t>(rank)] = {1.0 + rank, 10.0 * rank};
    rc->all_reduce_sum(sums[static_cast<std::size_t>(rank)]);
  });
  for (int r = 0; r < 2; ++r) {
    CHECK(got[r][0].count == 4);
    CHECK(got[r][0].mean == Approx(4).epsilon(1e-15));
    CHECK(got[r][0].m2 == Approx(50).epsilon(1e-15));
    CHECK(sums[r] == std::vector<double>{3, 10});
  }
  CHECK(keel::current_replica_context() == nullptr);
}
