#include <catch2/catch.hpp>

#include "keel/core/memory_pool.h"
#include "keel/core/random.h"
#include "keel/layers/activation_layer.h"
#include "keel/layers/batch_normalization.h"
#include "keel/layers/conv2d.h"
#include "keel/layers/dense.h"
#include "keel/layers/dropout.h"
#include "keel/layers/flatten.h"
#include "keel/layers/input.h"
#include "keel/layers/pooling2d.h"
#include "keel/models/losses.h"
#include "keel/models/sequential.h"
#include "keel/optim/adam.h"

using namespace keel;

// The speed issue's goal: once the first steps have sized every buffer, a training step takes all
// its tensor memory from the pool and none from the system.
TEST_CASE("a steady-state training step of a small convnet allocates no tensor memory from the system",
          "[memory_pool][fit]") {
  if (!memory::pooling_enabled()) return;  // KEEL_MEMORY_POOL=0 in the environment
  set_random_seed(3);
  auto model = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
      layers::Input({.shape = {12, 12, 1}}), layers::Conv2D({.filters = 4, .kernel_size = 3}),
      layers::BatchNormalization({}), layers::Activation({.activation = "relu"}),
      layers::MaxPooling2D({.pool_size = 2}), layers::Flatten({}), layers::Dense({.units = 8}),
      layers::Dropout({.rate = 0.5}), layers::Dense({.units = 3})});
  model->compile({.optimizer = std::make_shared<optim::Adam>(optim::Adam::Options{.learning_rate = 1e-3}),
                  .loss = std::make_shared<losses::SparseCategoricalCrossentropy>(
                      losses::SparseCategoricalCrossentropy::Options{.from_logits = true}),
                  .metrics = {"accuracy"}});
  Tensor x = random::normal({16, 12, 12, 1}, 0.0, 1.0, 5);
  Tensor y = Tensor::from_vector(std::vector<double>{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0}, {16}, DType::int64);
  for (int i = 0; i < 3; ++i) model->train_on_batch(x, y);
  const auto before = memory::pool_stats();
  for (int i = 0; i < 5; ++i) model->train_on_batch(x, y);
  const auto after = memory::pool_stats();
  CHECK(after.system_allocations == before.system_allocations);
  CHECK(after.pool_hits > before.pool_hits);
  CHECK(after.bytes_in_use == before.bytes_in_use);  // nothing accumulates from step to step
}
