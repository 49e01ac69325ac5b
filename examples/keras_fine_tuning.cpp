// Fine-tuning a model trained in Python Keras, in C++ (docs/keras_files.md):
//
//   1. load MLPerf Tiny's ResNet-8 (tiny_resnet8.h5: tf.keras 2.4, trained on CIFAR-10, 32x32x3) and
//      keep it up to its Flatten layer as the base; freeze the base, and call it with training = false so
//      its BatchNormalization layers keep their CIFAR-10 statistics;
//   2. put a new head on top: Fashion-MNIST's 28x28x1 images are resized to 32x32 and tiled to three
//      channels inside the model; train the head and report the test accuracy;
//   3. unfreeze the base's top residual block (its BatchNormalization still in inference mode), compile
//      again with a lower learning rate, train, and report the test accuracy;
//   4. save the fine-tuned model as a Keras 3 .keras file, load it back, and check that the reloaded
//      model predicts exactly what the trained one does.
#include <chrono>
#include <iostream>
#include <keel/keel.h>
#include <string>

#include "classifier_training.h"
#include "command_line.h"
#include "fashion_mnist_data.h"

using namespace keel;

namespace {

struct Args : TrainingRunFlags {
  Args() : TrainingRunFlags{.epochs = 2} {}
  std::string model;
  std::int64_t fine_tune_epochs = 2;
  double input_scale = 255.0;
};

void usage() {
  std::cout << R"(usage: keras_fine_tuning --model tiny_resnet8.h5 [options]

Loads MLPerf Tiny's ResNet-8, trained on CIFAR-10 in Python Keras, freezes it as a base, trains a new
head on Fashion-MNIST (resized to 32x32 and tiled to three channels), then unfreezes the top residual
block and fine-tunes; prints the test accuracy after each phase, saves the model as a Keras 3 .keras
file and checks that it reloads with identical predictions.

  --model PATH          the Keras file (in keel's repository: ../shared/keras_files/tiny_resnet8.h5)
  --epochs N            epochs of training the new head (default 2)
  --fine-tune-epochs N  epochs after unfreezing the top block (default 2)
  --batch-size N        batch size (default 64)
  --input-scale X       factor from keel's Fashion-MNIST pixels (in [0, 1]) to the base's input
                        (default 255: the CIFAR-10 pixel range the base was trained on)
  --subset N            train on the first N training images only (default: all)
  --threads N           threads (default: KEEL_NUM_THREADS or all cores)
  --verbose N           0 silent, 1 progress bar, 2 one line per epoch (default 1)
  --seed N              seed for the new weights, shuffling and dropout (default 1)
  --data-dir DIR        folder with the Fashion-MNIST IDX files (default $KEEL_DATA_DIR or
                        /usr/share/datasets/fashion-mnist, Debian package dataset-fashion-mnist)
  --output-dir DIR      where keras_fine_tuning.keras goes (default .)

Exits with status 2 if the reloaded model's predictions differ from the trained model's.
)";
}

Args parse(int argc, char** argv) {
  Args a;
  for (CommandLine cl(argc, argv, usage); cl.next();) {
    if (cl.is("--model")) a.model = cl.value();
    else if (cl.is("--fine-tune-epochs")) a.fine_tune_epochs = cl.integer();
    else if (cl.is("--input-scale")) a.input_scale = cl.number();
    else if (!a.take(cl)) cl.reject();
  }
  if (a.model.empty()) throw UsageError("--model: give the path of tiny_resnet8.h5 (see --help)");
  return a;
}

}  // namespace

int main(int argc, char** argv) try {
  Args args = parse(argc, argv);
  set_num_threads(args.threads);
  set_random_seed(args.seed);

  datasets::Dataset data = load_fashion_mnist(args.data_dir);
  const datasets::Split train = first_images(data.train, args.subset);

  // 1. The base: the Keras model up to its Flatten layer, frozen.
  auto resnet = std::dynamic_pointer_cast<Functional>(load_model(args.model));
  if (!resnet) throw ValueError(args.model + ": expected a functional model (ResNet-8)");
  auto base = Model::functional(resnet->inputs(), {resnet->output_of("flatten")}, "resnet8_base");
  base->set_trainable(false);

  // 2. A new head, with the images brought to the base's 32x32x3 input inside the model.
  auto inputs = keel::Input({.shape = {28, 28, 1}, .name = "image"});
  SymbolicTensor x = layers::Rescaling({.scale = args.input_scale})(inputs);
  x = layers::Resizing({.height = 32, .width = 32})(x);
  x = layers::Concatenate({.axis = -1})({x, x, x});
  x = (*base)(x, {.training = false});
  x = layers::Dropout({.rate = 0.2})(x);
  auto model = Model::functional(inputs, layers::Dense({.units = 10})(x), "fashion_resnet8");
  model->compile({.optimizer = std::make_shared<optim::Adam>(optim::Adam::Options{.learning_rate = 1e-3}),
                  .loss = logits_crossentropy(), .metrics = {"accuracy"}});
  if (args.verbose > 0) model->summary({.expand_nested = false, .show_trainable = true});

  auto start = std::chrono::steady_clock::now();
  model->fit(train.x, train.y, {.batch_size = args.batch_size, .epochs = args.epochs, .verbose = args.verbose,
                                .seed = args.seed});
  const double head_accuracy = model->evaluate(data.test.x, data.test.y, {.batch_size = 1000})[1];
  std::cout << "Test accuracy with the base frozen: " << head_accuracy << "\n";

  // 3. Unfreeze the top residual block: every layer after the second block's output.
  bool top_block = false;
  for (const auto& layer : base->layers()) {
    if (top_block) layer->set_trainable(true);
    if (layer->name() == "activation_4") top_block = true;
  }
  model->compile({.optimizer = std::make_shared<optim::Adam>(optim::Adam::Options{.learning_rate = 1e-4}),
                  .loss = logits_crossentropy(), .metrics = {"accuracy"}});
  model->fit(train.x, train.y, {.batch_size = args.batch_size, .epochs = args.fine_tune_epochs,
                                .verbose = args.verbose, .seed = args.seed + 1});
  const double seconds = seconds_since(start);
  const double tuned_accuracy = model->evaluate(data.test.x, data.test.y, {.batch_size = 1000})[1];
  std::cout << "Test accuracy after fine-tuning the top block: " << tuned_accuracy << "\n"
            << "Training time: " << seconds << " s (" << args.epochs + args.fine_tune_epochs << " epochs, "
            << num_threads() << " threads)\n";

  // 4. Keras 3's file format, and back.
  const auto out = save_in(*model, args.output_dir, "keras_fine_tuning.keras");
  auto reloaded = load_model(out);
  const Tensor sample = data.test.x.narrow(0, 0, 1000);
  const Tensor before = model->predict(sample, {.batch_size = 250});
  const Tensor after = reloaded->predict(sample, {.batch_size = 250});
  const double difference = ops::max(ops::abs(before - after)).item();
  std::cout << "Saved " << out.string() << "; reloaded, its predictions on 1,000 test images differ by at most "
            << difference << "\n";
  return difference == 0.0 ? 0 : 2;
} catch (const std::exception& e) {
  std::cerr << "keras_fine_tuning: " << e.what() << "\n";
  return 1;
}
