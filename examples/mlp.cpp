// A multilayer perceptron with BatchNormalization on flattened Fashion-MNIST images:
//
//   Flatten -> Dense(512) -> BatchNormalization -> ReLU -> Dropout
//           -> Dense(512) -> BatchNormalization -> ReLU -> Dropout -> Dense(10)
//
// The Dense layers before BatchNormalization have no bias (BN's beta takes its place). Adam, then the
// test accuracy.
#include <chrono>
#include <iostream>
#include <keel/keel.h>
#include <string>

#include "classifier_training.h"
#include "command_line.h"
#include "fashion_mnist_data.h"

using namespace keel;

namespace {

struct Args {
  std::int64_t epochs = 10;
  std::int64_t batch_size = 128;
  std::int64_t units = 512;
  double dropout = 0.2;
  double learning_rate = 1e-3;
  std::int64_t subset = 0;  // 0: all 60,000 training images
  int threads = 0;
  int verbose = 2;
  std::string data_dir;
};

void usage() {
  std::cout << R"(usage: mlp [options]

Trains a 784-512-512-10 perceptron with BatchNormalization and ReLU on Fashion-MNIST with Adam and
prints its test accuracy.

  --epochs N          training epochs (default 10)
  --batch-size N      batch size (default 128)
  --units N           width of the two hidden layers (default 512)
  --dropout X         dropout rate after each hidden layer (default 0.2)
  --learning-rate X   Adam's learning rate (default 0.001)
  --subset N          train on the first N training images only (default: all)
  --threads N         threads (default: KEEL_NUM_THREADS or all cores)
  --verbose N         0 silent, 1 progress bar, 2 one line per epoch (default 2)
  --data-dir DIR      folder with the Fashion-MNIST IDX files (default $KEEL_DATA_DIR or
                      /usr/share/datasets/fashion-mnist, Debian package dataset-fashion-mnist)
)";
}

Args parse(int argc, char** argv) {
  Args a;
  for (CommandLine cl(argc, argv, usage); cl.next();) {
    if (cl.is("--epochs")) a.epochs = cl.integer();
    else if (cl.is("--batch-size")) a.batch_size = cl.integer();
    else if (cl.is("--units")) a.units = cl.integer();
    else if (cl.is("--dropout")) a.dropout = cl.number();
    else if (cl.is("--learning-rate")) a.learning_rate = cl.number();
    else if (cl.is("--subset")) a.subset = cl.integer();
    else if (cl.is("--threads")) a.threads = static_cast<int>(cl.integer());
    else if (cl.is("--verbose")) a.verbose = static_cast<int>(cl.integer());
    else if (cl.is("--data-dir")) a.data_dir = cl.value();
    else cl.reject();
  }
  return a;
}

// Dense (no bias) -> BatchNormalization -> ReLU -> Dropout.
std::vector<layers::LayerPtr> hidden_block(const Args& args) {
  return {layers::Dense({.units = args.units, .use_bias = false}), layers::BatchNormalization({}),
          layers::Activation({.activation = "relu"}), layers::Dropout({.rate = args.dropout})};
}

}  // namespace

int main(int argc, char** argv) try {
  Args args = parse(argc, argv);
  set_num_threads(args.threads);
  set_random_seed(1);

  datasets::Dataset data = load_fashion_mnist(args.data_dir);
  const datasets::Split train = first_images(data.train, args.subset);

  auto model = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{layers::Input({.shape = {28, 28, 1}}),
                                                                          layers::Flatten({})},
                                            "mlp");
  for (int block = 0; block < 2; ++block)
    for (auto& layer : hidden_block(args)) model->add(layer);
  model->add(layers::Dense({.units = 10}));

  model->compile({.optimizer = std::make_shared<optim::Adam>(optim::Adam::Options{.learning_rate = args.learning_rate}),
                  .loss = logits_crossentropy(),
                  .metrics = {"accuracy"}});
  model->summary();

  const auto start = std::chrono::steady_clock::now();
  model->fit(train.x, train.y,
             {.batch_size = args.batch_size, .epochs = args.epochs, .verbose = args.verbose, .validation_split = 0.1, .seed = 1});
  const double seconds = seconds_since(start);
  print_test_results(seconds, args.epochs, model->evaluate(data.test.x, data.test.y, {.batch_size = 1000}));
  return 0;
} catch (const std::exception& e) {
  std::cerr << "mlp: " << e.what() << "\n";
  return 1;
}
