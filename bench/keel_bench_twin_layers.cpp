// Single layers as the LibTorch comparison runs them (group "compare"), through the public layer API
// and autograd, as a training step uses them: BatchNormalization training forward+backward and
// inference on [64, 28, 28, 32] NHWC and its NCHW twin [64, 32, 28, 28] (axis 1); Conv2D and Dense
// forward (inference) and forward+backward on the reference convnet's shapes at batch 64;
// LayerNormalization over the last axis of [64, 128, 256]; GroupNormalization with 8 groups on
// [64, 28, 28, 32]; DepthwiseConv2D 3x3, stride 1, same, forward and forward+backward on
// MobileNet's [64, 56, 56, 64].
#include <fmt/format.h>

#include <iostream>
#include <keel/keel.h>

#include "bench_util.h"
#include "compare_libtorch/twin_spec.h"

namespace {

using namespace keel;

void print(const std::string& name, double value, const char* unit, const std::string& note = "") {
  std::cout << fmt::format("  {:<28} {:10.4f} {} {}\n", name, value, unit, note);
  twin::print_result("keel", name.c_str(), num_threads(), value, unit);
}

double forward_ms(layers::Layer& layer, const Tensor& x) {
  return twin::median_ms(
      [&] {
        NoGrad no_grad;
        layer(x, false);
      },
      twin::layer_reps.warmup, twin::layer_reps.runs);
}

// Training-mode forward, then backward of a fixed upstream gradient to the input and the weights.
double forward_backward_ms(layers::Layer& layer, const Tensor& x) {
  Tensor xg = set_requires_grad(x.clone());
  Tensor dy;
  return twin::median_ms(
      [&] {
        Tensor y = layer(xg, true);
        if (!dy.defined()) dy = random::normal(y.shape(), 0, 1, 7);
        backward(y, dy);
        for (const auto& v : layer.weights()) v.zero_grad();
        zero_grad(xg);
      },
      twin::layer_reps.warmup, twin::layer_reps.runs);
}

// Effective bandwidth with the BatchNormalization issue's byte counts.
std::string gbs(double bytes_per_element, std::int64_t elements, double ms) {
  return fmt::format("({:.1f} GB/s)", bytes_per_element * static_cast<double>(elements) / (ms * 1e-3) / 1e9);
}

bench::Register bn("compare", "BatchNormalization layer", [] {
  std::cout << "BatchNormalization layer (autograd), batch statistics forward+backward and inference\n";
  const std::int64_t elements = 64 * 28 * 28 * 32;
  struct Layout { const char* tag; Shape shape; std::vector<std::int64_t> axis; };
  for (const Layout& l : {Layout{"nhwc", {64, 28, 28, 32}, {-1}}, Layout{"nchw", {64, 32, 28, 28}, {1}}}) {
    auto layer = layers::BatchNormalization({.axis = l.axis});
    Tensor x = random::normal(l.shape, 1, 2, 1);
    double train = forward_backward_ms(*layer, x);
    print(fmt::format("bn_fwd_bwd_{}", l.tag), train, "ms", gbs(20, elements, train));
    double infer = forward_ms(*layer, x);
    print(fmt::format("bn_infer_{}", l.tag), infer, "ms", gbs(8, elements, infer));
  }
});

bench::Register conv_dense("compare", "Conv2D and Dense layers", [] {
  std::cout << "Conv2D and Dense layers on the convnet's shapes (batch 64, NHWC)\n";
  struct Case { const char* tag; layers::LayerPtr layer; Shape input; };
  for (const Case& c : {Case{"conv1", layers::Conv2D({.filters = 32, .kernel_size = 3}), {64, 28, 28, 1}},
                        Case{"conv2", layers::Conv2D({.filters = 64, .kernel_size = 3}), {64, 13, 13, 32}},
                        Case{"dense1", layers::Dense({.units = 128}), {64, 1600}}}) {
    Tensor x = random::normal(c.input, 0, 1, 3);
    print(fmt::format("{}_fwd", c.tag), forward_ms(*c.layer, x), "ms");
    print(fmt::format("{}_fwd_bwd", c.tag), forward_backward_ms(*c.layer, x), "ms");
  }
});

bench::Register layer_norm("compare", "LayerNormalization layer", [] {
  std::cout << "LayerNormalization layer (autograd) on [64, 128, 256], last axis, forward+backward and inference\n";
  auto layer = layers::LayerNormalization();
  Tensor x = random::normal({64, 128, 256}, 1, 2, 1);
  print("ln_fwd_bwd", forward_backward_ms(*layer, x), "ms");
  print("ln_fwd", forward_ms(*layer, x), "ms");
});

bench::Register group_norm("compare", "GroupNormalization layer", [] {
  std::cout << "GroupNormalization layer (autograd), 8 groups on [64, 28, 28, 32] NHWC, forward+backward and inference\n";
  auto layer = layers::GroupNormalization({.groups = 8});
  Tensor x = random::normal({64, 28, 28, 32}, 1, 2, 1);
  print("gn_fwd_bwd", forward_backward_ms(*layer, x), "ms");
  print("gn_fwd", forward_ms(*layer, x), "ms");
});

bench::Register depthwise("compare", "DepthwiseConv2D layer", [] {
  std::cout << "DepthwiseConv2D 3x3, stride 1, same, on [64, 56, 56, 64] NHWC\n";
  auto layer = layers::DepthwiseConv2D({.kernel_size = 3, .padding = "same"});
  Tensor x = random::normal({64, 56, 56, 64}, 0, 1, 3);
  print("depthwise_fwd", forward_ms(*layer, x), "ms");
  print("depthwise_fwd_bwd", forward_backward_ms(*layer, x), "ms");
});

}  // namespace
