// LibTorch twins of keel_bench's "compare" cases: the same models, shapes, initial weights
// (twin_spec.h), optimizer, loss and repetitions, printing the same RESULT lines with side "libtorch".
//
//   libtorch_twins [filter] [--threads N] [--nchw | --channels-last]
//
// The filter selects cases whose name contains it (keel_bench's case names: "train_step convnet").
// --threads N calls torch::set_num_threads(N) (its OpenMP pool; run it with OPENBLAS_NUM_THREADS=1).
// Models and Conv2D cases use NCHW by default (the faster layout for LibTorch 1.13 here, see
// bench/RESULTS.md); the BatchNorm2d cases always run both layouts.
#include <torch/torch.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>

#include "twin_spec.h"

namespace {

namespace nn = torch::nn;

int threads = 1;
bool channels_last = false;

torch::Tensor layout(const torch::Tensor& t) {
  return channels_last && t.dim() == 4 ? t.contiguous(torch::MemoryFormat::ChannelsLast) : t.contiguous();
}

// A convolution's weight in the chosen layout (PyTorch's channels_last recipe converts the model too).
void use_layout(nn::Conv2d& conv) {
  torch::NoGradGuard no_grad;
  conv->weight.set_data(layout(conv->weight));
}

void print(const std::string& name, double value, const char* unit) {
  twin::print_result("libtorch", name.c_str(), threads, value, unit);
}

// Glorot-uniform kernel in PyTorch's own layout, so the logical index is the flat index.
void fill_kernel(torch::Tensor& w, std::uint64_t stream, double fan_in, double fan_out) {
  torch::NoGradGuard no_grad;
  auto t = torch::empty(w.sizes());
  float* p = t.data_ptr<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = twin::glorot_uniform(stream, static_cast<std::uint64_t>(i), fan_in, fan_out);
  w.copy_(t);
}

// Keras's BatchNormalization defaults: epsilon 1e-3, moving average momentum 0.99 (PyTorch's 0.01).
nn::BatchNorm2dOptions bn2d(std::int64_t c) { return nn::BatchNorm2dOptions(c).eps(1e-3).momentum(0.01); }
nn::BatchNorm1dOptions bn1d(std::int64_t c) { return nn::BatchNorm1dOptions(c).eps(1e-3).momentum(0.01); }

struct ConvNetImpl : nn::Module {
  nn::Conv2d conv1{nn::Conv2dOptions(1, 32, 3)}, conv2{nn::Conv2dOptions(32, 64, 3)};
  nn::BatchNorm2d bn1{bn2d(32)}, bn2{bn2d(64)};
  nn::Linear dense1{1600, 128}, dense2{128, 10};
  nn::BatchNorm1d bn3{bn1d(128)};
  nn::Dropout dropout{0.5};

  ConvNetImpl() {
    for (auto& [name, m] : std::vector<std::pair<std::string, std::shared_ptr<nn::Module>>>{
             {"conv1", conv1.ptr()}, {"bn1", bn1.ptr()}, {"conv2", conv2.ptr()}, {"bn2", bn2.ptr()},
             {"dense1", dense1.ptr()}, {"bn3", bn3.ptr()}, {"dense2", dense2.ptr()}, {"dropout", dropout.ptr()}})
      register_module(name, m);
    fill_kernel(conv1->weight, twin::conv1, 9, 9 * 32);
    fill_kernel(conv2->weight, twin::conv2, 9 * 32, 9 * 64);
    fill_kernel(dense1->weight, twin::convnet_dense1, 1600, 128);
    fill_kernel(dense2->weight, twin::convnet_dense2, 128, 10);
    torch::NoGradGuard no_grad;
    for (auto* b : {&conv1->bias, &conv2->bias, &dense1->bias, &dense2->bias}) b->zero_();
    use_layout(conv1);
    use_layout(conv2);
  }
  torch::Tensor forward(torch::Tensor x) {
    x = torch::max_pool2d(torch::relu(bn1(conv1(x))), 2);
    x = torch::max_pool2d(torch::relu(bn2(conv2(x))), 2);
    x = dropout(torch::relu(bn3(dense1(x.flatten(1)))));
    return dense2(x);
  }
};
TORCH_MODULE(ConvNet);

struct MlpImpl : nn::Module {
  nn::Linear dense1{nn::LinearOptions(784, 512).bias(false)}, dense2{nn::LinearOptions(512, 512).bias(false)};
  nn::Linear dense3{512, 10};
  nn::BatchNorm1d bn1{bn1d(512)}, bn2{bn1d(512)};
  nn::Dropout dropout{0.2};

  MlpImpl() {
    for (auto& [name, m] : std::vector<std::pair<std::string, std::shared_ptr<nn::Module>>>{
             {"dense1", dense1.ptr()}, {"bn1", bn1.ptr()}, {"dense2", dense2.ptr()}, {"bn2", bn2.ptr()},
             {"dense3", dense3.ptr()}, {"dropout", dropout.ptr()}})
      register_module(name, m);
    fill_kernel(dense1->weight, twin::mlp_dense1, 784, 512);
    fill_kernel(dense2->weight, twin::mlp_dense2, 512, 512);
    fill_kernel(dense3->weight, twin::mlp_dense3, 512, 10);
    torch::NoGradGuard no_grad;
    dense3->bias.zero_();
  }
  torch::Tensor forward(torch::Tensor x) {
    x = dropout(torch::relu(bn1(dense1(x.flatten(1)))));
    x = dropout(torch::relu(bn2(dense2(x))));
    return dense3(x);
  }
};
TORCH_MODULE(Mlp);

torch::Tensor images(std::int64_t n) {
  auto x = torch::empty({n, 1, 28, 28});
  float* p = x.data_ptr<float>();
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < 784; ++j) p[i * 784 + j] = twin::pixel(i, j);
  return layout(x);
}

torch::Tensor labels(std::int64_t n) {
  auto y = torch::empty({n}, torch::kInt64);
  for (std::int64_t i = 0; i < n; ++i) y.data_ptr<std::int64_t>()[i] = twin::label(i);
  return y;
}

template <class Model>
void train_step_case(const std::string& name, Model model, std::int64_t batch) {
  auto x = images(batch), y = labels(batch);
  {
    torch::InferenceMode guard;
    model->eval();
    auto logits = model->forward(x).contiguous();
    print("init_loss_" + name, twin::cross_entropy(logits.template data_ptr<float>(), batch, 10), "loss");
    model->train();
  }
  // Keras's Adam: learning rate 1e-3, betas 0.9 / 0.999, epsilon 1e-7.
  torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(1e-3).eps(1e-7));
  auto step = [&] {
    adam.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(model->forward(x), y);
    loss.backward();
    adam.step();
    loss.template item<float>();
  };
  print("train_step_" + name, twin::median_ms(step, twin::train_reps.warmup, twin::train_reps.runs), "ms");
}

void predict_case() {
  ConvNet model;
  model->eval();
  auto x = images(1000);
  torch::InferenceMode guard;
  double ms = twin::median_ms([&] { model->forward(x); }, twin::predict_reps.warmup, twin::predict_reps.runs);
  print("predict_convnet_b1000", 1000 / (ms * 1e-3), "img/s");
}

double forward_ms(const std::function<torch::Tensor(const torch::Tensor&)>& layer, const torch::Tensor& x) {
  torch::InferenceMode guard;
  return twin::median_ms([&] { layer(x); }, twin::layer_reps.warmup, twin::layer_reps.runs);
}

// Training-mode forward, then backward of a fixed upstream gradient to the input and the weights;
// gradients are reset to undefined each time (PyTorch's set_to_none, its cheaper variant).
double forward_backward_ms(const std::function<torch::Tensor(const torch::Tensor&)>& layer, nn::Module& module,
                           const torch::Tensor& x) {
  auto xg = x.clone().requires_grad_(true);
  torch::Tensor dy;
  return twin::median_ms(
      [&] {
        auto y = layer(xg);
        if (!dy.defined()) dy = torch::randn_like(y);
        y.backward(dy);
        for (auto& p : module.parameters()) p.mutable_grad().reset();
        xg.mutable_grad().reset();
      },
      twin::layer_reps.warmup, twin::layer_reps.runs);
}

void batch_norm_cases() {
  for (bool nhwc : {true, false}) {
    nn::BatchNorm2d bn(bn2d(32));
    auto x = (torch::randn({64, 32, 28, 28}) * 2 + 1)
                 .contiguous(nhwc ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous);
    auto call = [&](const torch::Tensor& t) { return bn(t); };
    bn->train();
    print(nhwc ? "bn_fwd_bwd_nhwc" : "bn_fwd_bwd_nchw", forward_backward_ms(call, *bn, x), "ms");
    bn->eval();
    print(nhwc ? "bn_infer_nhwc" : "bn_infer_nchw", forward_ms(call, x), "ms");
  }
}

// Keras's LayerNormalization default epsilon 1e-3 (PyTorch's 1e-5), over the last axis.
void layer_norm_cases() {
  nn::LayerNorm ln(nn::LayerNormOptions({256}).eps(1e-3));
  auto x = torch::randn({64, 128, 256}) * 2 + 1;
  auto call = [&](const torch::Tensor& t) { return ln(t); };
  print("ln_fwd_bwd", forward_backward_ms(call, *ln, x), "ms");
  print("ln_fwd", forward_ms(call, x), "ms");
}

// GroupNorm on keel's NHWC case [64, 28, 28, 32] in PyTorch's layout, with Keras's epsilon 1e-3.
void group_norm_cases() {
  nn::GroupNorm gn(nn::GroupNormOptions(8, 32).eps(1e-3));
  auto x = layout(torch::randn({64, 32, 28, 28}) * 2 + 1);
  auto call = [&](const torch::Tensor& t) { return gn(t); };
  print("gn_fwd_bwd", forward_backward_ms(call, *gn, x), "ms");
  print("gn_fwd", forward_ms(call, x), "ms");
}

void conv_dense_cases() {
  nn::Conv2d conv1(nn::Conv2dOptions(1, 32, 3)), conv2(nn::Conv2dOptions(32, 64, 3));
  nn::Linear dense1(1600, 128);
  use_layout(conv1);
  use_layout(conv2);
  auto run = [](const std::string& tag, auto& module, const torch::Tensor& x) {
    auto call = [&](const torch::Tensor& t) { return module(t); };
    print(tag + "_fwd", forward_ms(call, x), "ms");
    print(tag + "_fwd_bwd", forward_backward_ms(call, *module, x), "ms");
  };
  run("conv1", conv1, layout(torch::randn({64, 1, 28, 28})));
  run("conv2", conv2, layout(torch::randn({64, 32, 13, 13})));
  run("dense1", dense1, torch::randn({64, 1600}));
}

// DepthwiseConv2D's twin: a grouped convolution with one group per channel (groups = C).
void depthwise_cases() {
  nn::Conv2d conv(nn::Conv2dOptions(64, 64, 3).padding(1).groups(64));
  use_layout(conv);
  auto call = [&](const torch::Tensor& t) { return conv(t); };
  auto x = layout(torch::randn({64, 64, 56, 56}));
  print("depthwise_fwd", forward_ms(call, x), "ms");
  print("depthwise_fwd_bwd", forward_backward_ms(call, *conv, x), "ms");
}

}  // namespace

int main(int argc, char** argv) {
  std::string filter;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--channels-last") == 0) channels_last = true;
    else if (std::strcmp(argv[i], "--nchw") == 0) channels_last = false;
    else if (argv[i][0] == '-') {
      std::cerr << "usage: libtorch_twins [filter] [--threads N] [--nchw | --channels-last]\n";
      return 2;
    } else filter = argv[i];
  }
  torch::set_num_threads(threads);
  torch::manual_seed(1);
  std::cout << "libtorch_twins: " << torch::get_num_threads() << " thread(s), "
            << (channels_last ? "channels_last" : "NCHW") << "\n";
  // Named as keel_bench's "compare" cases, so one filter selects the same cases on both sides.
  const std::vector<std::pair<std::string, std::function<void()>>> cases = {
      {"train_step convnet", [] { train_step_case("convnet", ConvNet(), 64); }},
      {"predict convnet", predict_case},
      {"train_step mlp", [] { train_step_case("mlp", Mlp(), 128); }},
      {"BatchNormalization layer", batch_norm_cases},
      {"Conv2D and Dense layers", conv_dense_cases},
      {"LayerNormalization layer", layer_norm_cases},
      {"GroupNormalization layer", group_norm_cases},
      {"DepthwiseConv2D layer", depthwise_cases}};
  for (const auto& [name, run] : cases)
    if (name.find(filter) != std::string::npos) run();
  return 0;
}
