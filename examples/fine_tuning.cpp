// Transfer learning and fine-tuning, Keras's recipe in keel:
//
//   1. train a small convnet on Fashion-MNIST classes 0-4 (T-shirt, trouser, pullover, dress, coat)
//      and save it;
//   2. load it, freeze its convolutional base (set_trainable(false): no weight changes, and its
//      BatchNormalization layers run in inference mode), put a new head on top and train the head on
//      classes 5-9 (sandal, shirt, sneaker, bag, ankle boot) relabelled 0-4; verify that every frozen
//      weight and every moving statistic is bitwise unchanged;
//   3. unfreeze the base's top block (its last Conv2D + BatchNormalization) and fine-tune with a low
//      learning rate, after compiling again.
#include <chrono>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <keel/keel.h>
#include <string>

#include "classifier_training.h"
#include "command_line.h"
#include "fashion_mnist_data.h"

using namespace keel;

namespace {

void usage() {
  std::cout << R"(usage: fine_tuning [options]

Trains a convnet on Fashion-MNIST classes 0-4, saves and reloads it, freezes it and trains a new
head on classes 5-9, checks that the frozen weights and moving statistics did not change, then
unfreezes the top convolutional block and fine-tunes with a low learning rate.

  --epochs N        epochs of each of the three training phases (default 3)
  --subset N        use the first N training images of each half only (default: all 30,000)
  --threads N       threads (default: KEEL_NUM_THREADS or all cores)
  --data-dir DIR    folder with the Fashion-MNIST IDX files (default $KEEL_DATA_DIR or
                    /usr/share/datasets/fashion-mnist, Debian package dataset-fashion-mnist)
  --output-dir DIR  where the pretrained model fine_tuning_base.keel goes (default .)

Exits with status 2 if a frozen weight or moving statistic changed during training.
)";
}

// The images whose label is in [first, first + count), labels shifted to start at 0; only the first
// `limit` of them when limit > 0.
datasets::Split classes(const datasets::Split& split, std::int64_t first, std::int64_t count, std::int64_t limit) {
  std::vector<double> rows, labels;
  std::vector<double> all = split.y.to_vector();
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto label = static_cast<std::int64_t>(all[i]);
    if (label < first || label >= first + count) continue;
    if (limit > 0 && static_cast<std::int64_t>(rows.size()) == limit) break;
    rows.push_back(static_cast<double>(i));
    labels.push_back(static_cast<double>(label - first));
  }
  const auto n = static_cast<std::int64_t>(rows.size());
  return {ops::take_rows(split.x, Tensor::from_vector(rows, {n}, DType::int64)),
          Tensor::from_vector(labels, {n}, DType::int64)};
}

std::shared_ptr<Sequential> classifier_head(const layers::LayerPtr& base, const std::string& name) {
  return std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
      layers::Input({.shape = {28, 28, 1}}),
      base,
      layers::Dense({.units = 64, .activation = "relu"}),
      layers::Dropout({.rate = 0.3}),
      layers::Dense({.units = 5}),
  }, name);
}

void compile(Sequential& model, double learning_rate) {
  model.compile({.optimizer = std::make_shared<optim::Adam>(optim::Adam::Options{.learning_rate = learning_rate}),
                 .loss = logits_crossentropy(),
                 .metrics = {"accuracy"}});
}

// Copies of the weights of `layers`, to compare with later.
struct Snapshot {
  std::vector<Variable> variables;
  std::vector<Tensor> values;
};

Snapshot snapshot(const std::vector<layers::LayerPtr>& layers) {
  Snapshot s;
  for (const auto& layer : layers)
    for (const Variable& v : layer->weights()) {
      s.variables.push_back(v);
      s.values.push_back(v.value().clone());
    }
  return s;
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.raw_data(), cb.raw_data(), static_cast<std::size_t>(ca.numel()) * dtype_size(ca.dtype())) == 0;
}

// Prints `title` and one line per weight; returns how many changed since the snapshot.
int report_changes(const std::string& title, const Snapshot& before) {
  std::cout << title << "\n";
  int changed = 0;
  for (std::size_t i = 0; i < before.variables.size(); ++i) {
    const Variable& v = before.variables[i];
    const bool same = bitwise_equal(v.value(), before.values[i]);
    changed += same ? 0 : 1;
    std::cout << "  " << std::left << std::setw(34) << v.name() << (v.trainable() ? "weight   " : "moving   ")
              << (same ? "unchanged" : "CHANGED") << "\n";
  }
  return changed;
}

// fit, then the test accuracy.
double train(Sequential& model, const datasets::Split& train, const datasets::Split& test, const FitOptions& options) {
  model.fit(train.x, train.y, options);
  return model.evaluate(test.x, test.y, {.batch_size = 1000})[1];
}

int fail(const std::string& message) {
  std::cerr << "fine_tuning: " << message << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) try {
  // subset 0: every training image of the classes.
  ShortRunArgs args = parse_short_run(argc, argv, usage, /*epochs=*/3, /*subset=*/0);
  set_num_threads(args.threads);
  set_random_seed(1);
  const auto start = std::chrono::steady_clock::now();

  datasets::Dataset data = load_fashion_mnist(args.data_dir);
  datasets::Split old_train = classes(data.train, 0, 5, args.subset), old_test = classes(data.test, 0, 5, 0);
  datasets::Split new_train = classes(data.train, 5, 5, args.subset), new_test = classes(data.test, 5, 5, 0);
  const FitOptions fit_options{.batch_size = 64, .epochs = args.epochs, .verbose = 2, .seed = 1};

  // 1. The base: the reference convnet's two convolutional blocks, standardizing its own input.
  auto base = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
      layers::Input({.shape = {28, 28, 1}}),
      standardization(old_train.x),
      layers::Conv2D({.filters = 32, .kernel_size = 3}, "block1_conv"),
      layers::BatchNormalization({}, "block1_bn"),
      layers::Activation({.activation = "relu"}),
      layers::MaxPooling2D({}),
      layers::Conv2D({.filters = 64, .kernel_size = 3}, "block2_conv"),
      layers::BatchNormalization({}, "block2_bn"),
      layers::Activation({.activation = "relu"}),
      layers::MaxPooling2D({}),
      layers::Flatten({}),
  }, "base");
  auto pretrained = classifier_head(base, "pretrained");
  compile(*pretrained, 1e-3);
  std::cout << "== 1. Pretraining on classes 0-4 (" << old_train.x.shape()[0] << " images)\n";
  const double pretrained_accuracy = train(*pretrained, old_train, old_test, fit_options);
  const auto saved = save_in(*pretrained, args.output_dir, "fine_tuning_base.keel");
  std::cout << "Test accuracy on classes 0-4: " << pretrained_accuracy << "; saved " << saved.string() << "\n";

  // 2. Reload, freeze the base, train a new head on classes 5-9.
  auto reloaded = std::dynamic_pointer_cast<Sequential>(load_model(saved));
  const double reloaded_accuracy = reloaded->evaluate(old_test.x, old_test.y, {.batch_size = 1000})[1];
  if (reloaded_accuracy != pretrained_accuracy)
    return fail("the reloaded model scores " + std::to_string(reloaded_accuracy) + ", not " +
                std::to_string(pretrained_accuracy));
  auto frozen_base = std::dynamic_pointer_cast<Sequential>(reloaded->get_layer("base"));
  frozen_base->set_trainable(false);
  auto transfer = classifier_head(frozen_base, "transfer");
  compile(*transfer, 1e-3);
  transfer->summary();
  const Snapshot before_head = snapshot({frozen_base});
  std::cout << "== 2. Training a new head on classes 5-9 over the frozen base (" << new_train.x.shape()[0]
            << " images)\n";
  const double head_accuracy = train(*transfer, new_train, new_test, fit_options);
  if (int changed = report_changes("Frozen base after fit:", before_head); changed > 0)
    return fail(std::to_string(changed) + " frozen weights changed during fit");

  // 3. Unfreeze the top block (block2_conv and block2_bn) and fine-tune everything trainable with a
  // learning rate ten times lower. Trainable flags take effect at compile, so compile again.
  frozen_base->set_trainable(true);
  std::vector<layers::LayerPtr> still_frozen;
  for (const auto& layer : frozen_base->layers()) {
    if (layer->name() == "block2_conv") break;
    layer->set_trainable(false);
    still_frozen.push_back(layer);
  }
  compile(*transfer, 1e-4);
  const Snapshot before_fine_tuning = snapshot(still_frozen);
  const Snapshot top_block = snapshot({frozen_base->get_layer("block2_conv"), frozen_base->get_layer("block2_bn")});
  std::cout << "== 3. Fine-tuning the top block and the head (learning rate 1e-4)\n";
  const double fine_tuned_accuracy = train(*transfer, new_train, new_test, fit_options);
  if (int changed = report_changes("Still-frozen layers after fine-tuning:", before_fine_tuning); changed > 0)
    return fail(std::to_string(changed) + " frozen weights changed during fine-tuning");
  if (report_changes("Top block after fine-tuning:", top_block) == 0) return fail("the unfrozen top block did not train");

  std::cout << "\nTest accuracy on classes 0-4, pretrained:             " << pretrained_accuracy
            << "\nTest accuracy on classes 5-9, new head on frozen base: " << head_accuracy
            << "\nTest accuracy on classes 5-9, after fine-tuning:       " << fine_tuned_accuracy
            << "\nWall time: " << seconds_since(start) << " s (" << num_threads() << " threads)\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "fine_tuning: " << e.what() << "\n";
  return 1;
}
