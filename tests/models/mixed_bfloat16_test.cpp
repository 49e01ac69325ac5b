// The mixed_bfloat16 policy in models: nesting, training, Keras configs and the inference graph passes.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>

#include "keel/core/dtype_policy.h"
#include "keel/core/kernels/bfloat16.h"
#include "keel/core/random.h"
#include "keel/layers/batch_normalization.h"
#include "keel/layers/dense.h"
#include "keel/layers/input.h"
#include "keel/layers/pooling2d.h"
#include "keel/models/keras_files.h"
#include "keel/models/sequential.h"
#include "models/model_test_support.h"
#include "support/global_policy.h"
#include "support/temp_dir.h"

using namespace keel;

namespace {

bool is_bfloat16(double v) {
  const float f = static_cast<float>(v);
  return kernels::round_to_bfloat16(f) == f;
}

}  // namespace

TEST_CASE("a float32 layer in a mixed_bfloat16 model reads its weights and writes its output unrounded",
          "[models][bfloat16]") {
  test::GlobalPolicy mixed("mixed_bfloat16");
  auto first = layers::Dense({.units = 1});
  auto last = layers::Dense({.units = 1});
  last->set_dtype(DType::float32);  // Keras's advice for a model's output layer
  Sequential model({layers::Input({.shape = {2}}), first, last});
  CHECK(model.dtype_policy().name() == "mixed_bfloat16");
  first->set_weights({Tensor::from_vector({1.0 + 0x1p-9, 0.0}, {2, 1}), Tensor::zeros({1})});
  last->set_weights({Tensor::from_vector({1.0 + 0x1p-9}, {1, 1}), Tensor::zeros({1})});
  // first: round(1 · round(1 + 2^-9)) = 1; last: 1 · (1 + 2^-9), left as it is.
  CHECK(model.predict(Tensor::from_vector({1.0, 0.0}, {1, 2})).item() == 1.0 + 0x1p-9);
}

TEST_CASE("a mixed_bfloat16 model trains with float32 variables that keep more than bfloat16's bits",
          "[models][bfloat16][fit]") {
  test::GlobalPolicy mixed("mixed_bfloat16");
  set_random_seed(1234);
  auto [x, y] = test::two_gaussians(512, 2.5, 99);
  auto [x_test, y_test] = test::two_gaussians(256, 2.5, 100);
  auto output = layers::Dense({.units = 1, .activation = "sigmoid"});
  output->set_dtype(DType::float32);
  Sequential model({layers::Input({.shape = {2}}), layers::Dense({.units = 8, .activation = "relu"}),
                    layers::BatchNormalization({}), output});
  model.compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}});
  History h = model.fit(x, y, {.batch_size = 32, .epochs = 15, .verbose = 0, .seed = 3});
  CHECK(h.history.at("loss").back() < h.history.at("loss").front());
  CHECK(model.evaluate(x_test, y_test)[1] >= 0.99);
  std::int64_t finer = 0;
  for (const Variable& w : model.trainable_weights()) {
    CHECK(w.dtype() == DType::float32);
    for (double v : w.value().to_vector()) finer += !is_bfloat16(v);
  }
  CHECK(finer > 0);  // Adam's float32 updates are not rounded away
}

TEST_CASE("a mixed_bfloat16 model saved as .keel or .keras loads with its policies and predicts the same",
          "[models][bfloat16][saving]") {
  auto mixed_dense = layers::Dense({.units = 3, .activation = "relu"});
  mixed_dense->set_dtype_policy(DTypePolicy::from_name("mixed_bfloat16"));
  Sequential model({layers::Input({.shape = {4}}), mixed_dense, layers::Dense({.units = 2})});
  const Tensor x = random::normal({5, 4}, 0, 1, 11);
  const Tensor expected = model.predict(x);
  test::TempDir dir("mixed_bfloat16");
  for (const char* file : {"m.keel", "m.keras"}) {
    model.save(dir / file);
    auto loaded = load_model(dir / file);
    REQUIRE(loaded->sublayers().size() == 2);
    CHECK(loaded->sublayers()[0]->dtype_policy().name() == "mixed_bfloat16");
    CHECK(loaded->sublayers()[1]->dtype_policy().name() == "float32");
    CHECK(loaded->predict(x).to_vector() == expected.to_vector());
  }
}

TEST_CASE("model_from_json reads Keras 3's mixed_bfloat16 DTypePolicy", "[models][bfloat16][keras_files]") {
  const nlohmann::json dense = {
      {"module", "keras.layers"},
      {"class_name", "Dense"},
      {"config",
       {{"name", "dense"},
        {"trainable", true},
        {"dtype",
         {{"module", "keras"}, {"class_name", "DTypePolicy"}, {"config", {{"name", "mixed_bfloat16"}}},
          {"registered_name", nullptr}}},
        {"units", 3},
        {"activation", "linear"},
        {"use_bias", true}}},
      {"registered_name", nullptr}};
  const nlohmann::json model = {
      {"class_name", "Sequential"},
      {"config",
       {{"name", "sequential"},
        {"layers",
         {{{"class_name", "InputLayer"}, {"config", {{"batch_shape", {nullptr, 4}}, {"name", "input_layer"}}}},
          dense}}}}};
  auto read = model_from_json(model.dump());
  REQUIRE(read->sublayers().size() == 1);
  CHECK(read->sublayers()[0]->dtype_policy().name() == "mixed_bfloat16");
  CHECK(read->sublayers()[0]->get_config()["dtype"] == "mixed_bfloat16");
}

TEST_CASE("predict does not fuse BatchNormalization into max pooling under mixed_bfloat16, and matches the layers",
          "[models][bfloat16]") {
  test::GlobalPolicy mixed("mixed_bfloat16");
  auto bn = layers::BatchNormalization({});
  auto pool = layers::MaxPooling2D({.pool_size = 2});
  Sequential model({layers::Input({.shape = {4, 4, 3}}), bn, pool});
  bn->set_weights({random::uniform({3}, 0.5, 1.5, 1), random::uniform({3}, -1, 1, 2), random::uniform({3}, -1, 1, 3),
                   random::uniform({3}, 0.5, 2, 4)});
  const Tensor x = random::normal({2, 4, 4, 3}, 0, 1, 5);
  const Tensor expected = (*pool)((*bn)(x, false), false);
  CHECK(model.predict(x).to_vector() == expected.to_vector());
  for (double v : expected.to_vector()) CHECK(is_bfloat16(v));
}
