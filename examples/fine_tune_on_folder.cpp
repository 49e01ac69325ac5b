// Fine-tuning on your own images: a frozen convolutional base and a new classification head trained on
// a folder of images, one subfolder per class, read with data::image_dataset_from_directory.
#include <cstdlib>
#include <iostream>
#include <keel/keel.h>
#include <string>

#include "command_line.h"

using namespace keel;

namespace {

void usage() {
  std::cout << R"(usage: fine_tune_on_folder FOLDER [options]

Trains a classifier on the images in FOLDER: a convolutional base, frozen, and a new Dense head on top.
FOLDER holds one subfolder per class; the subfolder names are the class names (sorted alphabetically,
the first is label 0). Images are PNG or JPEG (.png, .jpg, .jpeg, any case), in any size and color
type; files in folders nested inside a class folder belong to that class; other files are ignored:

  FOLDER/
    cats/  cat1.jpg  cat2.png  ...
    dogs/  dog1.jpg  more/dog2.jpeg  ...

Each image is resized to --image-size squared, as RGB. A fraction --validation-split of the images
(chosen by --seed, as Keras does) is held out and evaluated after every epoch.

  --epochs N            training epochs (default 3)
  --batch-size N        images per batch (default 16)
  --image-size N        height and width after resizing (default 64)
  --validation-split F  fraction of the images held out for validation (default 0.2)
  --seed N              seed of the file shuffle and the validation split (default 7)
  --base FILE           a saved model (.keel) to use as the frozen base; it must take
                        [N, size, size, 3] images in [0, 255] (default: a small convnet built here)
  --output FILE         save the fine-tuned model there (default: not saved)
  --threads N           threads (default: KEEL_NUM_THREADS or all cores)

Exits with status 2 if a frozen weight of the base changed during training.
)";
}

struct Args {
  std::string folder;
  std::int64_t epochs = 3, batch_size = 16, image_size = 64;
  double validation_split = 0.2;
  std::uint64_t seed = 7;
  std::string base, output;
  int threads = 0;
};

// FOLDER first, then the flags (--help also works alone).
Args parse(int argc, char** argv) {
  Args a;
  if (argc > 1 && argv[1][0] != '-') {
    a.folder = argv[1];
    --argc;
    ++argv;  // CommandLine skips argv[0], here the folder
  }
  for (CommandLine cl(argc, argv, usage); cl.next();) {
    if (cl.is("--epochs")) a.epochs = cl.integer();
    else if (cl.is("--batch-size")) a.batch_size = cl.integer();
    else if (cl.is("--image-size")) a.image_size = cl.integer();
    else if (cl.is("--validation-split")) a.validation_split = cl.number();
    else if (cl.is("--seed")) a.seed = static_cast<std::uint64_t>(cl.integer());
    else if (cl.is("--base")) a.base = cl.value();
    else if (cl.is("--output")) a.output = cl.value();
    else if (cl.is("--threads")) a.threads = static_cast<int>(cl.integer());
    else cl.reject();
  }
  if (a.folder.empty()) throw ValueError("no image folder given (see --help)");
  return a;
}

// Pixels in [0, 255] to [0, 1], two convolution blocks and a global average: a 32-value feature vector.
layers::LayerPtr build_base(std::int64_t size) {
  return std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
      layers::Input({.shape = {size, size, 3}}),
      layers::Rescaling({.scale = 1.0 / 255}),
      layers::Conv2D({.filters = 16, .kernel_size = 3, .padding = "same", .activation = "relu"}),
      layers::MaxPooling2D({}),
      layers::Conv2D({.filters = 32, .kernel_size = 3, .padding = "same", .activation = "relu"}),
      layers::GlobalAveragePooling2D({}),
  }, "base");
}

}  // namespace

int main(int argc, char** argv) try {
  const Args args = parse(argc, argv);
  set_num_threads(args.threads);
  set_random_seed(args.seed);

  auto [train, val] = data::image_dataset_from_directory(
      args.folder, {.batch_size = args.batch_size, .image_size = {args.image_size, args.image_size},
                    .seed = args.seed, .validation_split = args.validation_split, .subset = "both"});
  const auto classes = static_cast<std::int64_t>(train.class_names.size());
  std::cout << "classes:";
  for (const std::string& name : train.class_names) std::cout << " " << name;
  std::cout << "\n" << train.file_paths.size() << " training images, " << val.file_paths.size() << " validation images\n";

  layers::LayerPtr base = args.base.empty() ? build_base(args.image_size) : layers::LayerPtr(load_model(args.base));
  base->set_trainable(false);
  auto model = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
      layers::Input({.shape = {args.image_size, args.image_size, 3}}),
      base,
      layers::Dense({.units = classes}),
  }, "fine_tuned");
  model->compile({.optimizer = "adam",
                  .loss = std::make_shared<losses::SparseCategoricalCrossentropy>(
                      losses::SparseCategoricalCrossentropy::Options{.from_logits = true}),
                  .metrics = {"accuracy"}});
  model->build_from_declared_input();
  model->summary();

  std::vector<Tensor> frozen;
  for (const Variable& v : base->weights()) frozen.push_back(v.value().clone());
  // Decoded images stay in memory after the first epoch; the next batches are prepared during each step.
  const History history = model->fit(train.cache().prefetch(2), {.epochs = args.epochs, .validation_data = val.cache()});
  std::cout << "final val_accuracy: " << history.history.at("val_accuracy").back() << "\n";

  const auto weights = base->weights();
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (weights[i].value().to_vector() != frozen[i].to_vector()) {
      std::cerr << "fine_tune_on_folder: the frozen weight " << weights[i].name() << " changed\n";
      return 2;
    }
  }
  if (!args.output.empty()) {
    model->save(args.output);
    std::cout << "saved " << args.output << "\n";
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "fine_tune_on_folder: " << e.what() << "\n";
  return 1;
}
