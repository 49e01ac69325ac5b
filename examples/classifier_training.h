#pragma once
// What the examples do around fit: the loss of a classifier that ends in logits, a learning rate
// cosine-decayed over the whole run, the training time, saving, and the printed results.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <keel/keel.h>
#include <memory>
#include <string>
#include <vector>

// Sparse categorical crossentropy on logits: the examples' last Dense layers have no softmax.
inline std::shared_ptr<keel::losses::Loss> logits_crossentropy() {
  return std::make_shared<keel::losses::SparseCategoricalCrossentropy>(
      keel::losses::SparseCategoricalCrossentropy::Options{.from_logits = true});
}

// How many of `samples` fit trains on: validation_split holds out the last fraction, as in Keras.
inline std::int64_t samples_after_validation_split(std::int64_t samples, double validation_split) {
  return static_cast<std::int64_t>(std::floor(static_cast<double>(samples) * (1.0 - validation_split)));
}

// A learning rate decaying from `peak` to 0 over every step of `epochs` epochs of `samples` samples.
inline std::shared_ptr<keel::optim::CosineDecay> cosine_decay_over_run(double peak, std::int64_t samples,
                                                                       std::int64_t batch_size, std::int64_t epochs) {
  const std::int64_t steps = epochs * ((samples + batch_size - 1) / batch_size);
  return std::make_shared<keel::optim::CosineDecay>(peak, std::max<std::int64_t>(steps, 1));
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Saves `model` as `file_name` in `output_dir`, creating the folder; returns the file's path.
inline std::filesystem::path save_in(keel::Model& model, const std::string& output_dir, const std::string& file_name) {
  std::filesystem::create_directories(output_dir);
  const std::filesystem::path path = std::filesystem::path(output_dir) / file_name;
  model.save(path);
  return path;
}

// The training time and `test`, evaluate's loss and accuracy on the test images.
inline void print_test_results(double seconds, std::int64_t epochs, const std::vector<double>& test) {
  std::cout << "Training time: " << seconds << " s (" << epochs << " epochs, " << keel::num_threads() << " threads)\n"
            << "Test loss: " << test[0] << "\nTest accuracy: " << test[1] << "\n";
}

// The recipe of the functional convnets (residual_convnet, mobilenet_fashion): Adam on a learning rate
// cosine-decayed from args.learning_rate to 0 over the run, crossentropy on logits and accuracy; the
// summary when verbose; fit on `train` with the last args.validation_split held out; then evaluate on
// `test`, save the model as `file_name` in args.output_dir and print the results.
template <class Args>
void train_evaluate_save(keel::Model& model, const keel::datasets::Split& train, const keel::datasets::Split& test,
                         const Args& args, const std::string& file_name) {
  const std::int64_t train_samples = samples_after_validation_split(train.x.shape()[0], args.validation_split);
  auto schedule = cosine_decay_over_run(args.learning_rate, train_samples, args.batch_size, args.epochs);
  model.compile({.optimizer = std::make_shared<keel::optim::Adam>(keel::optim::Adam::Options{.learning_rate = schedule}),
                 .loss = logits_crossentropy(),
                 .metrics = {"accuracy"}});
  if (args.verbose > 0) model.summary();

  const auto start = std::chrono::steady_clock::now();
  model.fit(train.x, train.y,
            {.batch_size = args.batch_size, .epochs = args.epochs, .verbose = args.verbose,
             .validation_split = args.validation_split, .seed = args.seed});
  const double seconds = seconds_since(start);
  const std::vector<double> results = model.evaluate(test.x, test.y, {.batch_size = 1000});

  const std::filesystem::path out = save_in(model, args.output_dir, file_name);
  print_test_results(seconds, args.epochs, results);
  std::cout << "Saved " << out.string() << "\n";
}
