#include <catch2/catch.hpp>

#include "keel/autograd/engine.h"
#include "keel/autograd/ops.h"
#include "keel/core/config.h"
#include "keel/core/dtype_policy.h"
#include "keel/core/error.h"
#include "keel/layers/batch_normalization.h"
#include "keel/layers/dense.h"
#include "keel/layers/embedding.h"
#include "keel/layers/layer_normalization.h"
#include "keel/layers/registry.h"
#include "support/global_policy.h"

using Catch::Matchers::Contains;
using keel::DType;
using keel::DTypePolicy;
using keel::Tensor;
namespace layers = keel::layers;
namespace mixed_precision = keel::mixed_precision;

namespace {

const DTypePolicy kMixed = DTypePolicy::from_name("mixed_bfloat16");

}  // namespace

TEST_CASE("dtype policies have Keras's names, a variable dtype and a compute dtype", "[layers][dtype_policy]") {
  CHECK(kMixed.name() == "mixed_bfloat16");
  CHECK(kMixed.variable_dtype() == DType::float32);
  CHECK(kMixed.compute_dtype() == "bfloat16");
  CHECK(kMixed.computes_in_bfloat16());
  const DTypePolicy f64 = DTypePolicy::from_name("float64");
  CHECK(f64.name() == "float64");
  CHECK(f64.compute_dtype() == "float64");
  CHECK_FALSE(f64.computes_in_bfloat16());
  CHECK(DTypePolicy::from_name("float32") == DTypePolicy(DType::float32));
  REQUIRE_THROWS_AS(DTypePolicy::from_name("mixed_float16"), keel::ValueError);
  REQUIRE_THROWS_WITH(DTypePolicy::from_name("mixed_float16"),
                      Contains("'mixed_float16'") && Contains("mixed_bfloat16") && Contains("float16"));
  REQUIRE_THROWS_AS(DTypePolicy(DType::int64), keel::ValueError);
}

TEST_CASE("the global policy follows floatx until set - new layers take it, existing ones keep theirs",
          "[layers][dtype_policy]") {
  CHECK(mixed_precision::global_policy().name() == "float32");
  keel::config::set_floatx("float64");
  CHECK(mixed_precision::global_policy().name() == "float64");
  keel::config::set_floatx("float32");
  auto before = layers::Dense({.units = 1});
  {
    keel::test::GlobalPolicy mixed("mixed_bfloat16");
    auto dense = layers::Dense({.units = 1});
    CHECK(dense->dtype_policy() == kMixed);
    CHECK(dense->dtype() == DType::float32);  // Keras's layer.dtype: the variables' dtype
    CHECK(before->dtype_policy().name() == "float32");
    keel::config::set_floatx("float64");
    CHECK(mixed_precision::global_policy() == kMixed);  // a set policy wins over floatx
    keel::config::set_floatx("float32");
  }
  CHECK(mixed_precision::global_policy().name() == "float32");
}

TEST_CASE("a mixed_bfloat16 Dense rounds its input, its weights and its output to bfloat16", "[layers][dtype_policy]") {
  auto dense = layers::Dense({.units = 1});
  dense->set_dtype_policy(kMixed);
  (*dense)(Tensor::zeros({1, 2}));
  REQUIRE_THROWS_AS(dense->set_dtype_policy(DTypePolicy()), keel::UsageError);
  // x = [1 + 2^-8, 2] rounds (a tie) to [1, 2]; kernel [1.5, 0.5 + 2^-12] rounds to [1.5, 0.5]; the bias
  // 2^-7 is a bfloat16. So y = 1.5 + 1 + 2^-7 = 2.5078125 = (1.25 + 2^-8) · 2, a tie that rounds to 2.5.
  // Without the input's rounding y would round to 2.515625, without the kernel's to 2.515625, without
  // the output's it would stay 2.5078125.
  dense->set_weights({Tensor::from_vector({1.5, 0.5 + 0x1p-12}, {2, 1}), Tensor::from_vector({0x1p-7}, {1})});
  Tensor x = keel::set_requires_grad(Tensor::from_vector({1.0 + 0x1p-8, 2.0}, {1, 2}));
  Tensor y = (*dense)(x);
  CHECK(y.dtype() == DType::float32);
  CHECK(y.item() == 2.5);
  CHECK(dense->kernel().value().to_vector()[1] == 0.5 + 0x1p-12);  // the variable itself stays float32
  // The output gradient 1 + 2^-9 rounds to 1 on its way in; the input and kernel gradients are then the
  // rounded kernel and input, and the bias gradient is 1.
  keel::backward(keel::ops::sum(y * Tensor::from_vector({1.0 + 0x1p-9}, {1, 1})));
  CHECK(keel::grad(x).to_vector() == std::vector<double>{1.5, 0.5});
  CHECK(dense->kernel().grad().to_vector() == std::vector<double>{1.0, 2.0});
  CHECK(dense->bias().grad().to_vector() == std::vector<double>{1.0});
  // The same layer as float32 keeps every bit.
  auto plain = layers::Dense({.units = 1});
  (*plain)(Tensor::zeros({1, 2}));
  plain->set_weights(dense->get_weights());
  CHECK((*plain)(Tensor::from_vector({1.0 + 0x1p-8, 2.0}, {1, 2})).item() ==
        static_cast<double>(1.5f * (1.0f + 0x1p-8f) + (0.5f + 0x1p-12f) * 2.0f + 0x1p-7f));
}

TEST_CASE("a mixed_bfloat16 layer leaves integer inputs alone and rounds what it looks up", "[layers][dtype_policy]") {
  auto embedding = layers::Embedding({.input_dim = 2, .output_dim = 1});
  embedding->set_dtype_policy(kMixed);
  (*embedding)(Tensor::from_vector({0}, {1}, DType::int64));
  embedding->set_weights({Tensor::from_vector({1.0 + 0x1p-9, 3.0 + 0x1p-6}, {2, 1})});
  Tensor y = (*embedding)(Tensor::from_vector({1, 0}, {2}, DType::int64));
  CHECK(y.to_vector() == std::vector<double>{3.0 + 0x1p-6, 1.0});
}

TEST_CASE("mixed_bfloat16 normalization layers compute with float32 parameters, as Keras's do",
          "[layers][dtype_policy]") {
  SECTION("BatchNormalization") {
    auto bn = layers::BatchNormalization({.epsilon = 0.25});
    bn->set_dtype_policy(kMixed);
    (*bn)(Tensor::zeros({1, 1}));
    // gamma = 1 + 2^-8 + 2^-10, moving variance 0.75: y = 3 · gamma / sqrt(0.75 + 0.25) = 3.0146484375,
    // which rounds to 3.015625. Had gamma been rounded first (to 1 + 2^-7), y = 3.0234375 would be a tie
    // rounding to 3.03125.
    bn->set_weights({Tensor::from_vector({1.0 + 0x1p-8 + 0x1p-10}, {1}), Tensor::zeros({1}), Tensor::zeros({1}),
                     Tensor::from_vector({0.75}, {1})});
    CHECK((*bn)(Tensor::from_vector({3.0}, {1, 1}), false).item() == 3.015625);
  }
  SECTION("LayerNormalization") {
    auto ln = layers::LayerNormalization({.epsilon = 1e-12});
    ln->set_dtype_policy(kMixed);
    (*ln)(Tensor::zeros({1, 2}));
    // x = [-1, 1] normalizes to [-1, 1]; y[1] = gamma + beta = (1 + 2^-8 - 2^-10) + 2^-9 = 1.0048828125,
    // past the tie at 1 + 2^-8: 1.0078125. With gamma rounded first (to 1), y[1] would round to 1.
    ln->set_weights({Tensor::full({2}, 1.0 + 0x1p-8 - 0x1p-10), Tensor::full({2}, 0x1p-9)});
    CHECK((*ln)(Tensor::from_vector({-1.0, 1.0}, {1, 2})).to_vector()[1] == 1.0078125);
  }
}

TEST_CASE("the policy round-trips through the config - an unknown one names the argument", "[layers][dtype_policy]") {
  auto dense = layers::Dense({.units = 2});
  dense->set_dtype_policy(kMixed);
  nlohmann::json c = dense->serialize();
  CHECK(c["config"]["dtype"] == "mixed_bfloat16");
  CHECK(layers::deserialize(c)->dtype_policy() == kMixed);
  c["config"]["dtype"] = "mixed_float16";
  REQUIRE_THROWS_AS(layers::deserialize(c), keel::ValueError);
  REQUIRE_THROWS_WITH(layers::deserialize(c), Contains("dtype") && Contains("mixed_float16"));
}
