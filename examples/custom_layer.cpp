// A user-defined layer: ChannelScale multiplies each channel by a learned factor.
//
// It follows keel's layer convention (layers/layer.h): a class ChannelScaleLayer with an Options
// struct, build() creating the weight from the input shape, call() written with differentiable ops
// (autograd supplies the backward pass), get_config() / from_config(), and a factory ChannelScale()
// carrying the Keras-style class name. Registered with layers::register_layer, it trains through
// fit like any built-in layer and survives save / load_model; the reloaded model's predictions are
// compared bitwise with the original's.
#include <cstring>
#include <iostream>
#include <keel/keel.h>
#include <string>

#include "classifier_training.h"
#include "command_line.h"
#include "fashion_mnist_data.h"

using namespace keel;

namespace {

class ChannelScaleLayer : public layers::Layer {
 public:
  struct Options {
    Initializer scale_initializer = "ones";
    Regularizer scale_regularizer = {};
  };

  explicit ChannelScaleLayer(Options options, std::string name = "")
      : Layer("ChannelScale", std::move(name)), options_(std::move(options)) {}

  const Options& options() const { return options_; }
  const Variable& scale() const { return scale_; }

  nlohmann::json get_config() const override {
    nlohmann::json config = Layer::get_config();  // name, trainable, dtype
    config["scale_initializer"] = options_.scale_initializer.serialize();
    config["scale_regularizer"] = options_.scale_regularizer.serialize();
    return config;
  }

  static std::shared_ptr<ChannelScaleLayer> from_config(const nlohmann::json& config) {
    Options options;
    if (config.contains("scale_initializer"))
      options.scale_initializer = initializers::deserialize(config["scale_initializer"]);
    if (config.contains("scale_regularizer"))
      options.scale_regularizer = regularizers::deserialize(config["scale_regularizer"]);
    auto layer = std::make_shared<ChannelScaleLayer>(std::move(options), config.value("name", std::string()));
    layer->set_trainable(config.value("trainable", true));
    if (config.contains("dtype")) layer->set_dtype_policy(DTypePolicy::from_name(config["dtype"].get<std::string>()));
    return layer;
  }

 protected:
  void build(const Shape& input_shape) override {
    const std::int64_t channels = input_shape.back();
    scale_ = add_weight("scale", {channels},
                        {.initializer = options_.scale_initializer, .regularizer = options_.scale_regularizer});
    // Later calls must have the same number of channels.
    set_input_spec({.min_ndim = 2, .axes = {{-1, channels}}});
  }

  // [..., C] * [C] broadcasts over every leading axis.
  Tensor call(const Tensor& x, const layers::CallContext&) override { return x * scale_.value(); }

 private:
  Options options_;
  Variable scale_;
};

std::shared_ptr<ChannelScaleLayer> ChannelScale(ChannelScaleLayer::Options options = {}, std::string name = "") {
  return std::make_shared<ChannelScaleLayer>(std::move(options), std::move(name));
}

void usage() {
  std::cout << R"(usage: custom_layer [options]

Defines a ChannelScale layer (a learned factor per channel), registers it, trains a small convnet
that uses it on Fashion-MNIST, saves the model, reloads it through the layer registry and checks that
the reloaded model predicts bitwise the same.

  --epochs N        training epochs (default 1)
  --subset N        train on the first N training images (default 10000; 0: all)
  --threads N       threads (default: KEEL_NUM_THREADS or all cores)
  --data-dir DIR    folder with the Fashion-MNIST IDX files (default $KEEL_DATA_DIR or
                    /usr/share/datasets/fashion-mnist, Debian package dataset-fashion-mnist)
  --output-dir DIR  where custom_layer.keel goes (default .)
)";
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.raw_data(), cb.raw_data(), static_cast<std::size_t>(ca.numel()) * dtype_size(ca.dtype())) == 0;
}

}  // namespace

int main(int argc, char** argv) try {
  ShortRunArgs args = parse_short_run(argc, argv, usage, /*epochs=*/1, /*subset=*/10000);
  set_num_threads(args.threads);
  set_random_seed(1);

  // Without this, load_model refuses the file: "unknown layer class 'ChannelScale'".
  layers::register_layer("ChannelScale", [](const nlohmann::json& config) -> layers::LayerPtr {
    return ChannelScaleLayer::from_config(config);
  });

  datasets::Dataset data = load_fashion_mnist(args.data_dir);
  const datasets::Split train = first_images(data.train, args.subset);

  auto model = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
      layers::Input({.shape = {28, 28, 1}}),
      layers::Conv2D({.filters = 16, .kernel_size = 3, .use_bias = false}),
      ChannelScale({.scale_regularizer = regularizers::L2{.l2 = 1e-4}}, "scale"),
      layers::Activation({.activation = "relu"}),
      layers::MaxPooling2D({}),
      layers::Flatten({}),
      layers::Dense({.units = 10}),
  });
  model->compile({.optimizer = "adam",
                  .loss = logits_crossentropy(),
                  .metrics = {"accuracy"}});
  model->summary();
  model->fit(train.x, train.y, {.batch_size = 64, .epochs = args.epochs, .verbose = 2, .seed = 1});
  const double accuracy = model->evaluate(data.test.x, data.test.y, {.batch_size = 1000})[1];
  std::cout << "Test accuracy: " << accuracy << "\nLearned scales:";
  auto scale = std::dynamic_pointer_cast<ChannelScaleLayer>(model->get_layer("scale"))->scale().value();
  for (double s : scale.to_vector()) std::cout << " " << s;
  std::cout << "\n";

  const auto path = save_in(*model, args.output_dir, "custom_layer.keel");
  auto reloaded = std::dynamic_pointer_cast<Sequential>(load_model(path));
  if (!std::dynamic_pointer_cast<ChannelScaleLayer>(reloaded->get_layer("scale"))) {
    std::cerr << "custom_layer: the reloaded 'scale' layer is not a ChannelScaleLayer\n";
    return 2;
  }
  const Tensor expected = model->predict(data.test.x, {.batch_size = 1000});
  const Tensor actual = reloaded->predict(data.test.x, {.batch_size = 1000});
  if (!bitwise_equal(expected, actual)) {
    std::cerr << "custom_layer: the reloaded model's predictions differ from the original's\n";
    return 2;
  }
  std::cout << "Saved " << path.string() << "; the reloaded model's " << actual.shape()[0]
            << " predictions are bitwise identical\n";
  return 0;
} catch (const std::exception& e) {
  std::cerr << "custom_layer: " << e.what() << "\n";
  return 1;
}
