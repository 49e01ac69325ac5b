// The reference models as the LibTorch comparison runs them (group "compare"): a training step of the
// convnet (batch 64) and of the BatchNormalization MLP (batch 128), convnet inference at batch 1000,
// and the heap allocations of one steady-state training step. Weights come from twin_spec.h, so the
// LibTorch twins (bench/compare_libtorch) start from the same numbers; the untrained model's loss on
// the first batch is printed as the check.
#include <fmt/format.h>

#include <functional>
#include <iostream>
#include <keel/keel.h>

#include "allocation_counter.h"
#include "bench_util.h"
#include "compare_libtorch/twin_spec.h"
#include "reference_convnet.h"

namespace {

using namespace keel;

// Glorot-uniform kernel in keel's [3, 3, in, out] layout from PyTorch's [out, in, 3, 3] indices.
Tensor conv_kernel(std::uint64_t stream, std::int64_t in, std::int64_t out) {
  Tensor k = Tensor::empty({3, 3, in, out});
  float* p = k.data<float>();
  for (std::int64_t y = 0; y < 3; ++y)
    for (std::int64_t x = 0; x < 3; ++x)
      for (std::int64_t i = 0; i < in; ++i)
        for (std::int64_t o = 0; o < out; ++o)
          p[((y * 3 + x) * in + i) * out + o] = twin::glorot_uniform(
              stream, static_cast<std::uint64_t>(((o * in + i) * 3 + y) * 3 + x), 9.0 * in, 9.0 * out);
  return k;
}

// Glorot-uniform kernel in keel's [in, out] layout; `torch_feature` maps keel's input feature to
// PyTorch's (they differ after Flatten: keel flattens H, W, C and PyTorch C, H, W).
Tensor dense_kernel(std::uint64_t stream, std::int64_t in, std::int64_t out,
                    const std::function<std::int64_t(std::int64_t)>& torch_feature) {
  Tensor k = Tensor::empty({in, out});
  float* p = k.data<float>();
  for (std::int64_t i = 0; i < in; ++i)
    for (std::int64_t o = 0; o < out; ++o)
      p[i * out + o] = twin::glorot_uniform(stream, static_cast<std::uint64_t>(o * in + torch_feature(i)),
                                            static_cast<double>(in), static_cast<double>(out));
  return k;
}

std::int64_t same_feature(std::int64_t i) { return i; }

void set_kernel(const layers::LayerPtr& layer, const Tensor& kernel) {
  Variable k = layer->weights().at(0);
  if (k.name().find("kernel") == std::string::npos) throw UsageError("bench: expected a kernel, got " + k.name());
  k.assign(kernel);
}

void compile(Sequential& model) {
  model.compile({.optimizer = std::make_shared<optim::Adam>(optim::Adam::Options{.learning_rate = 1e-3}),
                 .loss = std::make_shared<losses::SparseCategoricalCrossentropy>(
                     losses::SparseCategoricalCrossentropy::Options{.from_logits = true})});
}

std::shared_ptr<Sequential> convnet() {
  auto conv1 = layers::Conv2D({.filters = 32, .kernel_size = 3}), conv2 = layers::Conv2D({.filters = 64, .kernel_size = 3});
  auto dense1 = layers::Dense({.units = 128}), dense2 = layers::Dense({.units = 10});
  auto model = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{
      layers::Input({.shape = {28, 28, 1}}), conv1, layers::BatchNormalization({}), layers::Activation({.activation = "relu"}),
      layers::MaxPooling2D({.pool_size = 2}), conv2, layers::BatchNormalization({}),
      layers::Activation({.activation = "relu"}), layers::MaxPooling2D({.pool_size = 2}), layers::Flatten({}), dense1,
      layers::BatchNormalization({}), layers::Activation({.activation = "relu"}), layers::Dropout({.rate = 0.5}), dense2});
  model->build_from_declared_input();
  set_kernel(conv1, conv_kernel(twin::conv1, 1, 32));
  set_kernel(conv2, conv_kernel(twin::conv2, 32, 64));
  // keel's feature (h * 5 + w) * 64 + c is PyTorch's c * 25 + h * 5 + w.
  set_kernel(dense1, dense_kernel(twin::convnet_dense1, 1600, 128, [](std::int64_t i) { return (i % 64) * 25 + i / 64; }));
  set_kernel(dense2, dense_kernel(twin::convnet_dense2, 128, 10, same_feature));
  compile(*model);
  return model;
}

std::shared_ptr<Sequential> mlp() {
  auto model = std::make_shared<Sequential>(std::vector<layers::LayerPtr>{layers::Input({.shape = {28, 28, 1}}), layers::Flatten({})});
  std::vector<layers::LayerPtr> dense;
  for (int block = 0; block < 2; ++block) {
    dense.push_back(layers::Dense({.units = 512, .use_bias = false}));
    for (const auto& layer : std::vector<layers::LayerPtr>{dense.back(), layers::BatchNormalization({}),
                                                           layers::Activation({.activation = "relu"}),
                                                           layers::Dropout({.rate = 0.2})})
      model->add(layer);
  }
  dense.push_back(layers::Dense({.units = 10}));
  model->add(dense.back());
  model->build_from_declared_input();
  set_kernel(dense[0], dense_kernel(twin::mlp_dense1, 784, 512, same_feature));
  set_kernel(dense[1], dense_kernel(twin::mlp_dense2, 512, 512, same_feature));
  set_kernel(dense[2], dense_kernel(twin::mlp_dense3, 512, 10, same_feature));
  compile(*model);
  return model;
}

Tensor images(std::int64_t n) {
  Tensor x = Tensor::empty({n, 28, 28, 1});
  float* p = x.data<float>();
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < 784; ++j) p[i * 784 + j] = twin::pixel(i, j);
  return x;
}

Tensor labels(std::int64_t n) {
  std::vector<double> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = static_cast<double>(twin::label(i));
  return Tensor::from_vector(v, {n}, DType::int64);
}

void print(const std::string& name, double value, const char* unit) {
  std::cout << fmt::format("  {:<28} {:12.4f} {}\n", name, value, unit);
  twin::print_result("keel", name.c_str(), num_threads(), value, unit);
}

// The untrained model's loss in inference mode, then the training step's median, then its allocations.
void train_step_case(const std::string& model_name, const std::shared_ptr<Sequential>& model, std::int64_t batch) {
  Tensor x = images(batch), y = labels(batch);
  Tensor logits = model->predict_on_batch(x).contiguous();
  print("init_loss_" + model_name, twin::cross_entropy(logits.data<float>(), batch, 10), "loss");
  print("train_step_" + model_name,
        twin::median_ms([&] { model->train_on_batch(x, y); }, twin::train_reps.warmup, twin::train_reps.runs), "ms");
  constexpr int steps = 10;
  bench::AllocationCount before = bench::allocation_count();
  for (int i = 0; i < steps; ++i) model->train_on_batch(x, y);
  bench::AllocationCount d = bench::allocation_count() - before;
  std::cout << fmt::format("  allocations per step: {} operator new, {} aligned C, {} malloc/calloc/realloc\n",
                           d.operator_new / steps, d.aligned_c / steps, d.plain_c / steps);
  print("allocs_per_step_" + model_name, static_cast<double>(d.total()) / steps, "allocs");
}

bench::Register train_convnet("compare", "train_step convnet", [] {
  std::cout << "Reference convnet, one training step (batch 64, Adam)\n";
  train_step_case("convnet", convnet(), 64);
});

// Not a LibTorch twin: the same step under mixed_bfloat16 (docs/mixed_precision.md), for its cost beside
// float32's.
bench::Register train_convnet_mixed("mixed_precision", "train_step convnet mixed_bfloat16", [] {
  std::cout << "Reference convnet under mixed_bfloat16, one training step (batch 64, Adam)\n";
  mixed_precision::set_global_policy("mixed_bfloat16");
  auto model = convnet();
  mixed_precision::clear_global_policy();
  train_step_case("convnet_mixed_bfloat16", model, 64);
});

bench::Register predict_convnet("compare", "predict convnet", [] {
  std::cout << "Reference convnet, inference at batch 1000\n";
  auto model = convnet();
  Tensor x = images(1000);
  double ms = twin::median_ms([&] { model->predict_on_batch(x); }, twin::predict_reps.warmup, twin::predict_reps.runs);
  print("predict_convnet_b1000", 1000 / (ms * 1e-3), "img/s");
});

bench::Register train_mlp("compare", "train_step mlp", [] {
  std::cout << "MLP 784-512-512-10 with BatchNormalization, one training step (batch 128, Adam)\n";
  train_step_case("mlp", mlp(), 128);
});

}  // namespace

std::shared_ptr<keel::Sequential> keel::bench::reference_convnet() { return convnet(); }
