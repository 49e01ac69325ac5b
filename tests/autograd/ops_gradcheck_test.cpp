// Every differentiable op against central differences in float64, on contiguous and strided inputs.
#include <catch2/catch.hpp>

#include <functional>
#include <string>

#include "keel/autograd/engine.h"
#include "keel/autograd/gradcheck.h"
#include "keel/autograd/ops.h"
#include "keel/core/random.h"

using keel::DType;
using keel::Shape;
using keel::Tensor;
namespace ops = keel::ops;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

struct Case {
  std::string name;
  std::vector<Shape> shapes;
  Fn f;
  double low = -2, high = 2;  // input range (positive for log/sqrt)
  keel::GradcheckOptions options = {};
};

Tensor input(const Shape& s, std::uint64_t seed, double lo, double hi) {
  return keel::random::uniform(s, lo, hi, seed, DType::float64);
}

// Inputs kept away from kinks (relu at 0, clip bounds) so central differences are valid there.
Tensor away_from(const Tensor& x, std::vector<double> kinks) {
  std::vector<double> v = x.to_vector();
  for (double& e : v)
    for (double k : kinks)
      if (std::abs(e - k) < 0.05) e = k + 0.1;
  return Tensor::from_vector(v, x.shape(), DType::float64);
}

std::vector<Case> cases() {
  const Shape s{3, 4};
  return {
      {"add", {s, {4}}, [](auto& x) { return ops::add(x[0], x[1]); }},
      {"sub", {s, {3, 1}}, [](auto& x) { return ops::sub(x[0], x[1]); }},
      {"mul", {s, s}, [](auto& x) { return ops::mul(x[0], x[1]); }},
      {"div", {s, {4}}, [](auto& x) { return ops::div(x[0], x[1]); }, 0.5, 2},
      {"pow", {s}, [](auto& x) { return ops::pow(x[0], 2.5); }, 0.5, 2},
      {"maximum", {s, s}, [](auto& x) { return ops::maximum(x[0], x[1]); }},
      {"minimum", {s, s}, [](auto& x) { return ops::minimum(x[0], x[1]); }},
      {"neg", {s}, [](auto& x) { return ops::neg(x[0]); }},
      {"abs", {s}, [](auto& x) { return ops::abs(x[0]); }, 0.1, 2},
      {"exp", {s}, [](auto& x) { return ops::exp(x[0]); }},
      {"log", {s}, [](auto& x) { return ops::log(x[0]); }, 0.5, 3},
      {"log1p", {s}, [](auto& x) { return ops::log1p(x[0]); }, 0.1, 3},
      {"sqrt", {s}, [](auto& x) { return ops::sqrt(x[0]); }, 0.5, 3},
      {"square", {s}, [](auto& x) { return ops::square(x[0]); }},
      {"erf", {s}, [](auto& x) { return ops::erf(x[0]); }},
      {"clip", {s}, [](auto& x) { return ops::clip(away_from(x[0], {-0.5, 0.7}) * 0 + x[0], -0.5, 0.7); }},
      {"where", {s, s}, [](auto& x) { return ops::where(ops::greater(x[0], x[1]), x[0] * 2.0, x[1]); }},
      // Through float32 the differences carry float32 rounding: a coarser step and tolerance.
      {"cast", {s}, [](auto& x) { return ops::cast(ops::cast(x[0], DType::float32), DType::float64) * 1.0; }, -2, 2,
       {.eps = 1e-2, .atol = 1e-4, .rtol = 1e-3}},
      {"relu", {s}, [](auto& x) { return ops::relu(x[0]); }},
      {"relu6", {s}, [](auto& x) { return ops::relu6(x[0] * 4.0); }},
      {"leaky_relu", {s}, [](auto& x) { return ops::leaky_relu(x[0]); }},
      {"elu", {s}, [](auto& x) { return ops::elu(x[0], 1.5); }},
      {"selu", {s}, [](auto& x) { return ops::selu(x[0]); }},
      {"gelu", {s}, [](auto& x) { return ops::gelu(x[0]); }},
      {"sigmoid", {s}, [](auto& x) { return ops::sigmoid(x[0]); }},
      {"hard_sigmoid", {s}, [](auto& x) { return ops::hard_sigmoid(x[0] * 2.0); }},
      {"tanh", {s}, [](auto& x) { return ops::tanh(x[0]); }},
      {"softplus", {s}, [](auto& x) { return ops::softplus(x[0]); }},
      {"softsign", {s}, [](auto& x) { return ops::softsign(x[0]); }},
      {"swish", {s}, [](auto& x) { return ops::swish(x[0]); }},
      {"softmax", {s}, [](auto& x) { return ops::softmax(x[0]); }},
      {"softmax_axis0", {s}, [](auto& x) { return ops::softmax(x[0], 0); }},
      {"log_softmax", {s}, [](auto& x) { return ops::log_softmax(x[0]); }},
      {"sum", {{2, 3, 4}}, [](auto& x) { return ops::sum(x[0], {0, 2}); }},
      {"sum_all", {s}, [](auto& x) { return ops::sum(x[0]); }},
      {"mean", {{2, 3, 4}}, [](auto& x) { return ops::mean(x[0], {1}, true); }},
      {"var", {{2, 3, 4}}, [](auto& x) { return ops::var(x[0], {0, 1}); }},
      {"max", {{2, 3, 4}}, [](auto& x) { return ops::max(x[0], {2}); }},
      {"min", {{2, 3, 4}}, [](auto& x) { return ops::min(x[0], {0}, true); }},
      {"reshape", {s}, [](auto& x) { return ops::reshape(x[0], {2, -1}) * 3.0; }},
      {"permute", {{2, 3, 4}}, [](auto& x) { return ops::permute(x[0], {2, 0, 1}) * 3.0; }},
      {"transpose", {s}, [](auto& x) { return ops::transpose(x[0], 0, 1) * 3.0; }},
      {"narrow", {s}, [](auto& x) { return ops::narrow(x[0], 1, 1, 2) * 3.0; }},
      {"slice", {s}, [](auto& x) { return ops::slice(x[0], 1, 0, 4, 2) * 3.0; }},
      {"broadcast_to", {{3, 1}}, [](auto& x) { return ops::broadcast_to(x[0], {2, 3, 4}) * 3.0; }},
      {"squeeze_unsqueeze", {{3, 1}}, [](auto& x) { return ops::unsqueeze(ops::squeeze(x[0], 1), 0) * 3.0; }},
      {"flatten", {{2, 3, 4}}, [](auto& x) { return ops::flatten(x[0]) * 3.0; }},
      {"contiguous", {s}, [](auto& x) { return ops::contiguous(ops::transpose(x[0], 0, 1)) * 3.0; }},
      {"concat", {s, {3, 2}}, [](auto& x) { return ops::concat({x[0], x[1]}, 1) * 3.0; }},
      {"take_rows", {s}, [](auto& x) { return ops::take_rows(x[0], Tensor::from_vector({2, 0, 2}, {3}, DType::int64)) * 3.0; }},
      {"matmul", {{3, 5}, {5, 2}}, [](auto& x) { return ops::matmul(x[0], x[1]); }},
      {"matmul_batched", {{2, 3, 5}, {5, 2}}, [](auto& x) { return ops::matmul(x[0], x[1]); }},
      {"matmul_transposed", {{5, 3}, {2, 5}}, [](auto& x) { return ops::matmul(ops::transpose(x[0], 0, 1), ops::transpose(x[1], 0, 1)); }},
      {"linear", {{3, 5}, {5, 2}, {2}}, [](auto& x) { return ops::linear(x[0], x[1], x[2]); }},
      {"linear_relu_no_bias", {{4, 3}, {3, 2}}, [](auto& x) { return ops::linear(x[0], x[1], Tensor(), true); }},
      {"linear_relu", {{4, 3}, {3, 2}, {2}}, [](auto& x) { return ops::linear(x[0], x[1], x[2], true); }},
      {"conv2d_nhwc_valid", {{2, 5, 4, 3}, {3, 2, 3, 2}, {2}}, [](auto& x) { return ops::conv2d(x[0], x[1], x[2]); }},
      {"conv2d_nhwc_same_stride2", {{1, 5, 6, 2}, {3, 3, 2, 3}, {3}},
       [](auto& x) { return ops::conv2d(x[0], x[1], x[2], {.stride_h = 2, .stride_w = 2, .same_padding = true}); }},
      {"conv2d_nchw_dilated", {{2, 2, 6, 5}, {2, 2, 2, 3}, {3}},
       [](auto& x) { return ops::conv2d(x[0], x[1], x[2], {.dilation_h = 2, .dilation_w = 2, .channels_first = true}); }},
      {"conv2d_fused_relu", {{1, 4, 5, 2}, {2, 2, 2, 3}, {3}},
       [](auto& x) { return ops::conv2d(x[0], x[1], x[2], {.relu = true}); }},
      {"conv2d_nchw_fused_relu", {{1, 2, 4, 5}, {2, 2, 2, 3}, {3}},
       [](auto& x) { return ops::conv2d(x[0], x[1], x[2], {.channels_first = true, .relu = true}); }},
      {"conv2d_no_bias", {{1, 4, 4, 2}, {1, 1, 2, 3}}, [](auto& x) { return ops::conv2d(x[0], x[1], Tensor()); }},
      {"depthwise_conv2d_valid", {{2, 5, 4, 3}, {3, 2, 3, 1}, {3}},
       [](auto& x) { return ops::depthwise_conv2d(x[0], x[1], x[2]); }},
      {"depthwise_conv2d_same_stride2_multiplier2", {{1, 5, 6, 2}, {3, 3, 2, 2}, {4}},
       [](auto& x) { return ops::depthwise_conv2d(x[0], x[1], x[2], {.stride_h = 2, .stride_w = 2, .same_padding = true}); }},
      {"depthwise_conv2d_dilated_same", {{1, 6, 5, 3}, {3, 2, 3, 2}, {6}},
       [](auto& x) { return ops::depthwise_conv2d(x[0], x[1], x[2], {.dilation_h = 2, .dilation_w = 2, .same_padding = true}); }},
      {"depthwise_conv2d_nchw_dilated_no_bias", {{2, 2, 6, 5}, {2, 2, 2, 2}},
       [](auto& x) { return ops::depthwise_conv2d(x[0], x[1], Tensor(), {.dilation_h = 2, .dilation_w = 2, .channels_first = true}); }},
      {"conv2d_transpose_valid", {{2, 3, 4, 3}, {3, 2, 2, 3}, {2}},
       [](auto& x) { return ops::conv2d_transpose(x[0], x[1], x[2]); }},
      {"conv2d_transpose_same_stride2_output_padding", {{1, 3, 2, 2}, {3, 3, 3, 2}, {3}},
       [](auto& x) { return ops::conv2d_transpose(x[0], x[1], x[2], {.stride_h = 2, .stride_w = 2, .output_padding_h = 1, .output_padding_w = 0, .same_padding = true}); }},
      {"conv2d_transpose_nchw_dilated_no_bias", {{2, 2, 3, 3}, {2, 2, 3, 2}},
       [](auto& x) { return ops::conv2d_transpose(x[0], x[1], Tensor(), {.dilation_h = 2, .dilation_w = 2, .channels_first = true}); }},
      {"max_pool2d", {{2, 4, 6, 3}}, [](auto& x) { return ops::max_pool2d(x[0]); }},
      {"max_pool2d_same_nchw", {{1, 2, 5, 5}}, [](auto& x) {
         return ops::max_pool2d(x[0], {.pool_h = 3, .pool_w = 3, .stride_h = 2, .stride_w = 2, .same_padding = true, .channels_first = true});
       }},
      {"avg_pool2d", {{2, 4, 6, 3}}, [](auto& x) { return ops::avg_pool2d(x[0]); }},
      {"avg_pool2d_same", {{1, 5, 5, 2}}, [](auto& x) {
         return ops::avg_pool2d(x[0], {.pool_h = 2, .pool_w = 2, .stride_h = 2, .stride_w = 2, .same_padding = true});
       }},
      {"sparse_softmax_cross_entropy", {{4, 3}}, [](auto& x) {
         return ops::sparse_softmax_cross_entropy(x[0], Tensor::from_vector({0, 2, 1, 2}, {4}, DType::int64));
       }},
  };
}

}  // namespace

TEST_CASE("every differentiable op passes gradcheck on contiguous and strided inputs", "[gradcheck]") {
  bool strided = GENERATE(false, true);
  for (const Case& c : cases()) {
    DYNAMIC_SECTION(c.name << (strided ? " strided" : " contiguous")) {
      std::vector<Tensor> inputs;
      std::uint64_t seed = 100;
      for (const Shape& s : c.shapes) {
        Tensor x = input(s, seed++, c.low, c.high);
        if (c.name == "relu" || c.name == "abs" || c.name == "leaky_relu" || c.name == "elu" || c.name == "selu")
          x = away_from(x, {0.0});
        if (c.name == "relu6") x = away_from(x, {0.0, 1.5});
        if (c.name == "hard_sigmoid") x = away_from(x, {-1.5, 1.5});
        if (c.name == "clip") x = away_from(x, {-0.5, 0.7});
        inputs.push_back(x);
      }
      keel::GradcheckOptions options = c.options;
      options.noncontiguous = strided;
      keel::GradcheckResult r = keel::gradcheck(c.f, inputs, options);
      INFO(r.message);
      CHECK(r.ok);
    }
  }
}

TEST_CASE("gradcheck catches a wrong gradient") {
  // A deliberately wrong backward: d/dx of x*x computed as x (instead of 2x) through detach.
  Fn wrong = [](const std::vector<Tensor>& x) { return x[0] * keel::detach(x[0]); };
  Tensor in = input({3}, 1, 0.5, 1.5);
  CHECK_FALSE(keel::gradcheck(wrong, {in}).ok);
}
