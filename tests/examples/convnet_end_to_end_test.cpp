// The main job end to end, on a subset: the reference convnet of examples/fashion_mnist_convnet.cpp
// trained for one epoch on 2,000 Fashion-MNIST images must classify at least half of the 10,000 test
// images correctly (chance is 10%; a working model reaches about 80%). Hidden ([.slow]) and run as
// its own CTest entry, slow.convnet_end_to_end (tests/slow_tests.cmake), outside the sanitizer pass.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "keel/keel.h"

namespace {

// The architecture of examples/fashion_mnist_convnet.cpp.
std::shared_ptr<keel::Sequential> reference_convnet(double mean, double stddev) {
  namespace layers = keel::layers;
  return std::make_shared<keel::Sequential>(std::vector<layers::LayerPtr>{
      layers::Input({.shape = {28, 28, 1}}),
      layers::Rescaling({.scale = 1.0 / stddev, .offset = -mean / stddev}),
      layers::Conv2D({.filters = 32, .kernel_size = 3}),
      layers::BatchNormalization({}),
      layers::Activation({.activation = "relu"}),
      layers::MaxPooling2D({.pool_size = 2}),
      layers::Conv2D({.filters = 64, .kernel_size = 3}),
      layers::BatchNormalization({}),
      layers::Activation({.activation = "relu"}),
      layers::MaxPooling2D({.pool_size = 2}),
      layers::Flatten({}),
      layers::Dense({.units = 128}),
      layers::BatchNormalization({}),
      layers::Activation({.activation = "relu"}),
      layers::Dropout({.rate = 0.5}),
      layers::Dense({.units = 10}),
  });
}

}  // namespace

TEST_CASE("the reference convnet learns Fashion-MNIST from 2000 images in one epoch", "[.slow]") {
  const std::filesystem::path dir = keel::data::default_fashion_mnist_dir();
  if (!std::filesystem::exists(dir / "t10k-images-idx3-ubyte.gz")) {
    WARN("Fashion-MNIST is not in " << dir.string() << " (Debian package dataset-fashion-mnist); skipped");
    return;
  }
  keel::set_random_seed(1);
  keel::datasets::Dataset data = keel::datasets::fashion_mnist(dir);
  keel::Tensor x = data.train.x.narrow(0, 0, 2000), y = data.train.y.narrow(0, 0, 2000);
  const double mean = keel::ops::mean(x).item();
  const double stddev = std::sqrt(keel::ops::var(x).item());

  auto model = reference_convnet(mean, stddev);
  model->compile({.optimizer = std::make_shared<keel::optim::Adam>(keel::optim::Adam::Options{.learning_rate = 2e-3}),
                  .loss = std::make_shared<keel::losses::SparseCategoricalCrossentropy>(
                      keel::losses::SparseCategoricalCrossentropy::Options{.from_logits = true}),
                  .metrics = {"accuracy"}});
  keel::History history = model->fit(x, y, {.batch_size = 64, .epochs = 1, .verbose = 0, .seed = 1});
  REQUIRE(history.history.at("loss").size() == 1);
  CHECK(std::isfinite(history.history.at("loss")[0]));

  std::vector<double> test = model->evaluate(data.test.x, data.test.y, {.batch_size = 1000});
  INFO("test loss " << test[0] << ", test accuracy " << test[1]);
  CHECK(test[1] >= 0.5);
}
