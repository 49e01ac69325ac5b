// A small MobileNet on Fashion-MNIST, written with the functional API and the depthwise-separable
// blocks of MobileNet V1 (Howard et al., 2017), with MobileNet V2's ReLU(6.):
//
//   Rescaling -> Conv2D(32, 3x3, stride 2, same) -> BN -> ReLU(6)                14x14
//   5 x [DepthwiseConv2D(3x3, stride s) -> BN -> ReLU(6) -> Conv2D(1x1) -> BN -> ReLU(6)]
//        filters 64, 128 (stride 2), 128, 256 (stride 2), 256     7x7, 4x4 (times --alpha)
//   GlobalAveragePooling2D -> Dropout -> Dense(10)
//
// trained with Adam on a cosine-decayed learning rate; prints the summary and the test accuracy, and
// saves the model.
#include <cmath>
#include <iostream>
#include <keel/keel.h>
#include <string>

#include "classifier_training.h"
#include "command_line.h"
#include "fashion_mnist_data.h"

using namespace keel;

namespace {

struct Args : TrainingRunFlags {
  Args() : TrainingRunFlags{.epochs = 6} {}
  double learning_rate = 3e-3;
  double alpha = 1.0;
  double dropout = 0.2;
  double validation_split = 0.1;
};

void usage() {
  std::cout << R"(usage: mobilenet_fashion [options]

Trains a small MobileNet (depthwise-separable blocks with BatchNormalization and ReLU(6.)), built with
the functional API, on Fashion-MNIST and prints its test accuracy.

  --epochs N            training epochs (default 6)
  --batch-size N        batch size (default 64)
  --learning-rate X     peak Adam learning rate, cosine-decayed to 0 over the run (default 0.003)
  --alpha X             width multiplier of every block's filters, as MobileNet's alpha (default 1.0)
  --dropout X           rate of the Dropout before the last Dense (default 0.2)
  --validation-split X  last fraction of the training set held out for validation (default 0.1)
  --subset N            train on the first N training images only (default: all)
  --threads N           threads (default: KEEL_NUM_THREADS or all cores)
  --verbose N           0 silent, 1 progress bar, 2 one line per epoch (default 1)
  --seed N              seed for weights, shuffling and dropout (default 1)
  --data-dir DIR        folder with the IDX files (default $KEEL_DATA_DIR or
                        /usr/share/datasets/fashion-mnist, Debian package dataset-fashion-mnist)
  --output-dir DIR      where the model goes (default .)
)";
}

Args parse(int argc, char** argv) {
  Args a;
  for (CommandLine cl(argc, argv, usage); cl.next();) {
    if (cl.is("--learning-rate")) a.learning_rate = cl.number();
    else if (cl.is("--alpha")) a.alpha = cl.number();
    else if (cl.is("--dropout")) a.dropout = cl.number();
    else if (cl.is("--validation-split")) a.validation_split = cl.number();
    else if (!a.take(cl)) cl.reject();
  }
  if (!(a.alpha > 0)) throw ValueError("--alpha must be > 0");
  return a;
}

SymbolicTensor bn_relu6(const SymbolicTensor& x) {
  return layers::ReLU({.max_value = 6.0})(layers::BatchNormalization({})(x));
}

// MobileNet V1's depthwise-separable block: a 3x3 depthwise convolution, then a 1x1 pointwise one.
SymbolicTensor separable_block(const SymbolicTensor& x, std::int64_t filters, std::int64_t strides) {
  auto y = layers::DepthwiseConv2D({.kernel_size = 3, .strides = strides, .padding = "same", .use_bias = false})(x);
  y = bn_relu6(y);
  y = layers::Conv2D({.filters = filters, .kernel_size = 1, .use_bias = false})(y);
  return bn_relu6(y);
}

}  // namespace

int main(int argc, char** argv) try {
  Args args = parse(argc, argv);
  set_num_threads(args.threads);
  set_random_seed(args.seed);

  datasets::Dataset data = load_fashion_mnist(args.data_dir);
  const datasets::Split train = first_images(data.train, args.subset);
  auto width = [&](std::int64_t filters) {
    return std::max<std::int64_t>(8, static_cast<std::int64_t>(std::lround(static_cast<double>(filters) * args.alpha)));
  };

  auto inputs = keel::Input({.shape = {28, 28, 1}, .name = "image"});
  SymbolicTensor x = standardization(train.x)(inputs);
  x = layers::Conv2D({.filters = width(32), .kernel_size = 3, .strides = 2, .padding = "same", .use_bias = false})(x);
  x = bn_relu6(x);
  const std::pair<std::int64_t, std::int64_t> blocks[] = {{64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}};
  for (const auto& [filters, strides] : blocks) x = separable_block(x, width(filters), strides);
  x = layers::GlobalAveragePooling2D({})(x);
  x = layers::Dropout({.rate = args.dropout})(x);
  auto model = Model::functional(inputs, layers::Dense({.units = 10})(x), "mobilenet_fashion");

  train_evaluate_save(*model, train, data.test, args, "mobilenet_fashion.keel");
  return 0;
} catch (const std::exception& e) {
  std::cerr << "mobilenet_fashion: " << e.what() << "\n";
  return 1;
}
