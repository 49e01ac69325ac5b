// A small ResNet on Fashion-MNIST, written with the functional API only (docs/functional.md):
//
//   Rescaling -> Conv2D(32, 3x3, same) -> BN -> ReLU
//   residual block (32)                        x -> [Conv-BN-ReLU-Conv-BN] + x -> ReLU
//   residual block (64, stride 2)              the shortcut is a 1x1 strided Conv2D + BN
//   residual block (64)
//   GlobalAveragePooling2D -> Dropout -> Dense(10)
//
// trained with Adam on a cosine-decayed learning rate; prints the summary (with its Connected to
// column) and the test accuracy, and saves the model.
#include <iostream>
#include <keel/keel.h>
#include <string>

#include "classifier_training.h"
#include "command_line.h"
#include "fashion_mnist_data.h"

using namespace keel;

namespace {

struct Args : TrainingRunFlags {
  Args() : TrainingRunFlags{.epochs = 8} {}
  double learning_rate = 3e-3;
  double dropout = 0.25;
  bool augment = false;
  double validation_split = 0.1;
};

void usage() {
  std::cout << R"(usage: residual_convnet [options]

Trains a small ResNet (three residual blocks with BatchNormalization, Add and global pooling), built
with the functional API, on Fashion-MNIST and prints its test accuracy.

  --epochs N            training epochs (default 8)
  --batch-size N        batch size (default 64)
  --learning-rate X     peak Adam learning rate, cosine-decayed to 0 over the run (default 0.003)
  --dropout X           rate of the Dropout before the last Dense (default 0.25)
  --augment             horizontal flips and shifts of up to one pixel in training
  --recipe long         --epochs 30 --augment --validation-split 0 (flags after it override)
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
    if (cl.is("--recipe")) {
      if (cl.value() != "long") throw ValueError("--recipe: the only recipe is 'long'");
      a.epochs = 30, a.augment = true, a.validation_split = 0;
    } else if (cl.is("--learning-rate")) a.learning_rate = cl.number();
    else if (cl.is("--dropout")) a.dropout = cl.number();
    else if (cl.is("--augment")) a.augment = true;
    else if (cl.is("--validation-split")) a.validation_split = cl.number();
    else if (!a.take(cl)) cl.reject();
  }
  return a;
}

SymbolicTensor conv_bn(const SymbolicTensor& x, std::int64_t filters, std::int64_t kernel, std::int64_t strides) {
  auto y = layers::Conv2D({.filters = filters, .kernel_size = kernel, .strides = strides, .padding = "same",
                           .use_bias = false})(x);
  return layers::BatchNormalization({})(y);
}

SymbolicTensor relu(const SymbolicTensor& x) { return layers::Activation({.activation = "relu"})(x); }

// relu(conv-bn-relu-conv-bn(x) + shortcut(x)); the shortcut is a 1x1 conv-bn when the shape changes.
SymbolicTensor residual_block(const SymbolicTensor& x, std::int64_t filters, std::int64_t strides) {
  auto y = conv_bn(relu(conv_bn(x, filters, 3, strides)), filters, 3, 1);
  const bool same_shape = strides == 1 && x.shape().back() == filters;
  auto shortcut = same_shape ? x : conv_bn(x, filters, 1, strides);
  return relu(layers::Add({})({y, shortcut}));
}

}  // namespace

int main(int argc, char** argv) try {
  Args args = parse(argc, argv);
  set_num_threads(args.threads);
  set_random_seed(args.seed);

  datasets::Dataset data = load_fashion_mnist(args.data_dir);
  const datasets::Split train = first_images(data.train, args.subset);

  auto inputs = keel::Input({.shape = {28, 28, 1}, .name = "image"});
  SymbolicTensor x = inputs;
  if (args.augment) {
    x = layers::RandomFlip({.mode = "horizontal"})(x);
    x = layers::RandomTranslation({.height_factor = 0.04, .width_factor = 0.04, .fill_mode = "constant",
                                   .interpolation = "nearest"})(x);
  }
  x = standardization(train.x)(x);
  x = relu(conv_bn(x, 32, 3, 1));
  x = residual_block(x, 32, 1);
  x = residual_block(x, 64, 2);
  x = residual_block(x, 64, 1);
  x = layers::GlobalAveragePooling2D({})(x);
  x = layers::Dropout({.rate = args.dropout})(x);
  auto model = Model::functional(inputs, layers::Dense({.units = 10})(x), "small_resnet");

  train_evaluate_save(*model, train, data.test, args, "residual_convnet.keel");
  return 0;
} catch (const std::exception& e) {
  std::cerr << "residual_convnet: " << e.what() << "\n";
  return 1;
}
