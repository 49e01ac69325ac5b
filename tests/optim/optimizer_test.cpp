#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "keel/autograd/engine.h"
#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/core/parallel.h"
#include "keel/optim/adam.h"
#include "keel/optim/rmsprop.h"
#include "keel/optim/sgd.h"
#include "optim/step_fixture.h"

using Catch::Matchers::Contains;
using keel::Tensor;
using keel::Variable;
using namespace keel::optim::testing;
namespace optim = keel::optim;

namespace {

Variable make_variable(const std::string& name, const Vec& values, bool trainable = true,
                       keel::ConstraintFn constraint = {}) {
  return Variable(name, Tensor::from_vector(values, {static_cast<std::int64_t>(values.size())}, keel::DType::float64),
                  trainable, {}, std::move(constraint));
}

Tensor vec(const Vec& values) {
  return Tensor::from_vector(values, {static_cast<std::int64_t>(values.size())}, keel::DType::float64);
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw_data(), b.raw_data(), static_cast<std::size_t>(a.numel()) * keel::dtype_size(a.dtype())) == 0;
}

}  // namespace

TEST_CASE("weight decay is decoupled and applied before the step", "[optim]") {
  optim::SGD sgd({.learning_rate = 0.1, .weight_decay = 0.5});
  Variable w = make_variable("kernel", {2.0, -4.0});
  sgd.apply_gradients({vec({1.0, 1.0})}, {w});
  // w ← w − lr·wd·w = w·0.95, then w − lr·g.
  CHECK(w.value().to_vector()[0] == Approx(2.0 * 0.95 - 0.1).margin(1e-15));
  CHECK(w.value().to_vector()[1] == Approx(-4.0 * 0.95 - 0.1).margin(1e-15));
}

TEST_CASE("exclude_from_weight_decay skips variables whose name contains a listed string", "[optim]") {
  optim::SGD sgd({.learning_rate = 0.1, .weight_decay = 0.5, .exclude_from_weight_decay = {"bias", "gamma"}});
  Variable kernel = make_variable("dense/kernel", {2.0});
  Variable bias = make_variable("dense/bias", {2.0});
  Variable gamma = make_variable("batch_normalization/gamma", {2.0});
  sgd.apply_gradients({vec({1.0}), vec({1.0}), vec({1.0})}, {kernel, bias, gamma});
  CHECK(kernel.value().item() == Approx(2.0 * 0.95 - 0.1).margin(1e-15));
  CHECK(bias.value().item() == Approx(2.0 - 0.1).margin(1e-15));
  CHECK(gamma.value().item() == Approx(2.0 - 0.1).margin(1e-15));
}

TEST_CASE("clipnorm clips each gradient by its own norm", "[optim]") {
  optim::SGD sgd({.learning_rate = 1.0, .clipnorm = 1.0});
  Variable a = make_variable("a", {0.0, 0.0});
  Variable b = make_variable("b", {0.0, 0.0});
  sgd.apply_gradients({vec({3.0, 4.0}), vec({0.3, 0.4})}, {a, b});
  // ‖(3, 4)‖ = 5 > 1: g·1/5; ‖(0.3, 0.4)‖ = 0.5 ≤ 1: unchanged.
  CHECK(a.value().to_vector()[0] == Approx(-0.6).margin(1e-15));
  CHECK(a.value().to_vector()[1] == Approx(-0.8).margin(1e-15));
  CHECK(b.value().to_vector()[0] == Approx(-0.3).margin(1e-15));
  CHECK(b.value().to_vector()[1] == Approx(-0.4).margin(1e-15));
}

TEST_CASE("global_clipnorm scales every gradient by the norm of all of them", "[optim]") {
  optim::SGD sgd({.learning_rate = 1.0, .global_clipnorm = 2.0});
  Variable a = make_variable("a", {0.0, 0.0});
  Variable b = make_variable("b", {0.0});
  // Global norm sqrt(9 + 16 + 144) = 13 > 2: scale 2/13.
  sgd.apply_gradients({vec({3.0, 4.0}), vec({12.0})}, {a, b});
  CHECK(a.value().to_vector()[0] == Approx(-6.0 / 13.0).margin(1e-15));
  CHECK(a.value().to_vector()[1] == Approx(-8.0 / 13.0).margin(1e-15));
  CHECK(b.value().item() == Approx(-24.0 / 13.0).margin(1e-15));
  // Below the threshold nothing changes.
  optim::SGD loose({.learning_rate = 1.0, .global_clipnorm = 20.0});
  Variable c = make_variable("c", {0.0, 0.0});
  loose.apply_gradients({vec({3.0, 4.0})}, {c});
  CHECK(c.value().to_vector() == std::vector<double>{-3.0, -4.0});
}

TEST_CASE("clipvalue clips each gradient element to [-c, c]", "[optim]") {
  optim::SGD sgd({.learning_rate = 1.0, .clipvalue = 0.5});
  Variable a = make_variable("a", {0.0, 0.0, 0.0});
  Tensor g = vec({2.0, -3.0, 0.25});
  sgd.apply_gradients({g}, {a});
  CHECK(a.value().to_vector() == std::vector<double>{-0.5, 0.5, -0.25});
  CHECK(g.to_vector() == std::vector<double>{2.0, -3.0, 0.25});  // the caller's gradient is untouched
}

TEST_CASE("at most one of clipnorm, clipvalue and global_clipnorm", "[optim]") {
  REQUIRE_THROWS_AS(optim::Adam({.clipnorm = 1.0, .clipvalue = 1.0}), keel::ValueError);
  REQUIRE_THROWS_WITH(optim::Adam({.clipnorm = 1.0, .clipvalue = 1.0}),
                      Contains("Adam") && Contains("clipnorm") && Contains("clipvalue"));
  REQUIRE_THROWS_WITH(optim::SGD({.clipvalue = 1.0, .global_clipnorm = 1.0}),
                      Contains("clipvalue and global_clipnorm"));
  REQUIRE_THROWS_WITH(optim::SGD({.clipnorm = -1.0}), Contains("clipnorm") && Contains("-1"));
}

TEST_CASE("constraints are applied after the update, to the updated variables only", "[optim]") {
  auto non_negative = [](const Tensor& w) { return keel::ops::maximum(w, keel::ops::scalar_like(w, 0.0)); };
  Variable w = make_variable("w", {0.05, 1.0}, true, non_negative);
  Variable untouched = make_variable("u", {-1.0}, true, non_negative);
  optim::SGD sgd({.learning_rate = 0.1});
  // The update makes w = (0.05 − 0.1, 1 − 0.1) = (−0.05, 0.9); the constraint then gives (0, 0.9).
  sgd.apply_gradients({vec({1.0, 1.0}), Tensor()}, {w, untouched});
  CHECK(w.value().to_vector()[0] == 0.0);
  CHECK(w.value().to_vector()[1] == Approx(0.9).margin(1e-15));
  CHECK(untouched.value().item() == -1.0);  // no gradient: neither updated nor projected
}

TEST_CASE("apply uses each variable's grad and skips variables without one", "[optim]") {
  Variable w = make_variable("w", {1.0, 2.0});
  Variable unused = make_variable("unused", {5.0});
  keel::backward(keel::ops::sum(keel::ops::square(w.value())));  // grad = 2w
  optim::SGD sgd({.learning_rate = 0.25});
  sgd.apply({w, unused});
  CHECK(w.value().to_vector() == std::vector<double>{0.5, 1.0});
  CHECK(unused.value().item() == 5.0);
  CHECK(sgd.iterations() == 1);
}

TEST_CASE("apply refuses non-trainable variables, all-missing gradients and wrong shapes", "[optim]") {
  optim::SGD sgd;
  Variable frozen = make_variable("moving_mean", {1.0}, false);
  REQUIRE_THROWS_AS(sgd.apply_gradients({vec({1.0})}, {frozen}), keel::ValueError);
  REQUIRE_THROWS_WITH(sgd.apply_gradients({vec({1.0})}, {frozen}), Contains("moving_mean") && Contains("trainable"));
  Variable w = make_variable("w", {1.0, 2.0});
  REQUIRE_THROWS_WITH(sgd.apply_gradients({Tensor()}, {w}), Contains("no gradients") && Contains("w"));
  REQUIRE_THROWS_AS(sgd.apply_gradients({vec({1.0})}, {w}), keel::ShapeError);
  REQUIRE_THROWS_WITH(sgd.apply_gradients({vec({1.0})}, {w}), Contains("'w'") && Contains("[1]") && Contains("[2]"));
  REQUIRE_THROWS_WITH(sgd.apply_gradients({}, {w}), Contains("0 gradients for 1 variables"));
  CHECK(sgd.iterations() == 0);
}

TEST_CASE("set_learning_rate replaces the rate, schedules included", "[optim]") {
  optim::SGD sgd({.learning_rate = std::make_shared<optim::ExponentialDecay>(1.0, 1, 0.5)});
  Variable w = make_variable("w", {0.0});
  sgd.apply_gradients({vec({1.0})}, {w});  // lr at step 0 = 1
  CHECK(sgd.learning_rate() == Approx(0.5).margin(1e-15));  // the schedule at iterations 1
  sgd.set_learning_rate(0.125);
  CHECK(sgd.learning_rate() == 0.125);
  sgd.apply_gradients({vec({1.0})}, {w});
  CHECK(w.value().item() == Approx(-1.125).margin(1e-15));
  CHECK(sgd.learning_rate() == 0.125);
  REQUIRE_THROWS_WITH(sgd.set_learning_rate(-1.0), Contains("learning_rate") && Contains("-1"));
}

TEST_CASE("state and load_state continue bitwise like an uninterrupted run", "[optim]") {
  auto make = [] { return std::make_unique<optim::Adam>(optim::AdamOptions{.learning_rate = 0.01, .amsgrad = true}); };
  Variable a = make_variable("a", {0.5, -1.5, 2.0});
  Variable b = make_variable("b", {3.0});
  auto grads = [](int step) {
    double s = static_cast<double>(step);
    return std::vector<Tensor>{vec({0.1 * s, -0.2, 0.3 / s}), vec({std::sin(s)})};
  };
  auto reference = make();
  for (int step = 1; step <= 3; ++step) reference->apply_gradients(grads(step), {a, b});
  auto snapshot = reference->state({{"first", a}, {"second", b}});
  Tensor a_at_3 = a.value().clone(), b_at_3 = b.value().clone();
  for (int step = 4; step <= 6; ++step) reference->apply_gradients(grads(step), {a, b});

  REQUIRE(snapshot.size() == 7);
  CHECK(snapshot[0].first == "iterations");
  CHECK(snapshot[0].second.item() == 3.0);
  CHECK(snapshot[1].first == "first/m");
  CHECK(snapshot[3].first == "first/v_hat");
  CHECK(snapshot[6].first == "second/v_hat");

  Variable a2 = make_variable("a", {0.0, 0.0, 0.0});
  Variable b2 = make_variable("b", {0.0});
  a2.assign(a_at_3);
  b2.assign(b_at_3);
  auto resumed = make();
  // Listed in the other order: the keys, not the positions, pair slots with variables.
  resumed->load_state(snapshot, {{"second", b2}, {"first", a2}});
  CHECK(resumed->iterations() == 3);
  for (int step = 4; step <= 6; ++step) resumed->apply_gradients(grads(step), {a2, b2});
  CHECK(bitwise_equal(a2.value(), a.value()));
  CHECK(bitwise_equal(b2.value(), b.value()));
  auto final_state = reference->state({{"first", a}, {"second", b}});
  auto resumed_state = resumed->state({{"first", a2}, {"second", b2}});
  REQUIRE(resumed_state.size() == final_state.size());
  for (std::size_t i = 0; i < final_state.size(); ++i) CHECK(bitwise_equal(final_state[i].second, resumed_state[i].second));
}

TEST_CASE("a variable without slots in the state stays fresh, as in the run it came from", "[optim]") {
  Variable a = make_variable("a", {1.0});
  Variable b = make_variable("b", {2.0});
  optim::Adam source({.learning_rate = 0.01});
  source.apply_gradients({vec({0.5})}, {a});
  auto state = source.state({{"a", a}, {"b", b}});
  REQUIRE(state.size() == 3);  // iterations, a/m, a/v: b was never stepped

  Variable a2 = make_variable("a", {0.0});
  Variable b2 = make_variable("b", {2.0});
  a2.assign(a.value().clone());
  optim::Adam resumed({.learning_rate = 0.01});
  resumed.build({a2, b2});  // slots b never had in the source run: load_state drops them
  resumed.load_state(state, {{"a", a2}, {"b", b2}});
  CHECK(resumed.state({{"a", a2}, {"b", b2}}).size() == 3);
  source.apply_gradients({vec({0.5}), vec({-1.0})}, {a, b});
  resumed.apply_gradients({vec({0.5}), vec({-1.0})}, {a2, b2});
  CHECK(bitwise_equal(a2.value(), a.value()));
  CHECK(bitwise_equal(b2.value(), b.value()));
}

TEST_CASE("load_state names the missing, unexpected or mis-shaped slot, and bounds iterations", "[optim]") {
  optim::RMSprop source({.momentum = 0.5});
  Variable w = make_variable("w", {1.0, 2.0});
  source.apply_gradients({vec({1.0, 1.0})}, {w});
  auto state = source.state({{"w", w}});

  optim::RMSprop fresh({.momentum = 0.5});
  REQUIRE_THROWS_WITH(fresh.load_state(state, {}), Contains("unexpected slot 'w/"));
  Variable other = make_variable("other", {1.0, 2.0, 3.0});
  REQUIRE_THROWS_AS(fresh.load_state(state, {{"w", other}}), keel::ShapeError);
  REQUIRE_THROWS_WITH(fresh.load_state(state, {{"w", other}}), Contains("w/velocity") && Contains("[2]") && Contains("[3]"));

  auto without_velocity = state;
  without_velocity.erase(without_velocity.begin() + 1);  // drop w/velocity
  optim::RMSprop with_momentum({.momentum = 0.5});
  REQUIRE_THROWS_WITH(with_momentum.load_state(without_velocity, {{"w", w}}),
                      Contains("has slot 'w/momentum' but not 'w/velocity'"));
  CHECK(with_momentum.iterations() == 0);  // nothing was written

  for (double bad : {-1.0, 2.5, 9007199254740994.0, 9223372036854775808.0,
                     std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
    auto with_iterations = state;
    with_iterations[0].second = Tensor::scalar(bad, keel::DType::float64);
    REQUIRE_THROWS_WITH(with_momentum.load_state(with_iterations, {{"w", w}}),
                        Contains("iterations must be an integer in [0, 2^53]"));
  }
  auto at_limit = state;
  at_limit[0].second = Tensor::scalar(static_cast<double>(optim::kMaxIterations), keel::DType::int64);
  with_momentum.load_state(at_limit, {{"w", w}});
  CHECK(with_momentum.iterations() == optim::kMaxIterations);
}

TEST_CASE("a variable seen later gets fresh slots - earlier ones keep theirs", "[optim]") {
  optim::Adam adam({.learning_rate = 0.01});
  Variable a = make_variable("a", {1.0});
  Variable b = make_variable("b", {1.0});
  for (int i = 0; i < 3; ++i) adam.apply_gradients({vec({0.5})}, {a});
  adam.apply_gradients({vec({0.5}), vec({0.5})}, {a, b});
  auto state = adam.state({{"a", a}, {"b", b}});
  REQUIRE(state.size() == 5);
  CHECK(state[3].first == "b/m");
  // b's first moment saw one gradient: (1 − β1)·0.5; a's saw four.
  CHECK(state[3].second.item() == Approx(0.05).margin(1e-15));
  CHECK(state[1].second.item() == Approx(0.5 * (1.0 - std::pow(0.9, 4))).margin(1e-15));
  // b's update is the bias-corrected step at t = 4 from a fresh moment: α·m/(sqrt(v) + ε).
  double alpha = 0.01 * std::sqrt(1.0 - std::pow(0.999, 4)) / (1.0 - std::pow(0.9, 4));
  CHECK(b.value().item() == Approx(1.0 - alpha * 0.05 / (std::sqrt(0.001 * 0.25) + 1e-7)).margin(1e-14));
}

TEST_CASE("a gradient that is the variable's own value is read before it is overwritten", "[optim]") {
  Variable w = make_variable("w", {2.0, -4.0});
  optim::SGD sgd({.learning_rate = 0.25, .momentum = 0.5});
  sgd.apply_gradients({w.value()}, {w});  // g = w: m = −0.25·w, w ← 0.75·w
  CHECK(w.value().to_vector() == std::vector<double>{1.5, -3.0});
}

TEST_CASE("an update over a large tensor is bitwise the same on 1 and 2 threads", "[optim]") {
  auto run = [](int threads) {
    keel::set_num_threads(threads);
    const std::int64_t n = 100003;  // several chunks, the last one partial
    Vec initial(n), grad(n);
    for (std::int64_t i = 0; i < n; ++i) {
      initial[i] = std::sin(0.001 * static_cast<double>(i));
      grad[i] = std::cos(0.003 * static_cast<double>(i));
    }
    Variable w("w", Tensor::from_vector(initial, {n}), true);
    optim::RMSprop rmsprop({.momentum = 0.9, .centered = true, .weight_decay = 0.01});
    for (int step = 0; step < 3; ++step) rmsprop.apply_gradients({Tensor::from_vector(grad, {n})}, {w});
    keel::set_num_threads(0);
    return w.value();
  };
  Tensor one = run(1), two = run(2);
  CHECK(bitwise_equal(one, two));
  // And it moved: the first element is sin(0) = 0 minus three positive steps.
  CHECK(one.to_vector()[0] < -1e-3);
}

namespace {

// Two slots with different starting values, found by name: "steps" counts steps, "gradient_sum" adds the
// gradients to its 10. Looking up a name the optimizer does not keep is recorded.
class NamedSlotsProbe : public optim::Optimizer {
 public:
  NamedSlotsProbe() : Optimizer("NamedSlotsProbe", rate(0.5), {{"steps", 0.0}, {"gradient_sum", 10.0}}) {}
  bool absent_found = true;
  bool absent_refused = false;

 protected:
  static optim::CommonOptions rate(double learning_rate) {
    optim::CommonOptions options;
    options.learning_rate = learning_rate;
    return options;
  }
  void update_step(const Tensor& gradient, const Tensor& value, const Slots& slots,
                   const StepContext& context) override {
    const double* g = gradient.data<double>();
    double* w = value.data<double>();
    double* steps = slots["steps"].data<double>();
    double* sum = slots["gradient_sum"].data<double>();
    for (std::int64_t i = 0; i < value.numel(); ++i) {
      steps[i] += 1;
      sum[i] += g[i];
      w[i] -= context.learning_rate * g[i];
    }
    absent_found = slots.find("momentum") != nullptr;
    try {
      slots["momentum"];
    } catch (const keel::UsageError&) {
      absent_refused = true;
    }
  }
  nlohmann::json specific_config() const override { return nlohmann::json::object(); }
};

}  // namespace

TEST_CASE("update_step finds each slot by its name", "[optim]") {
  NamedSlotsProbe probe;
  Variable x = make_variable("x", {1.0, 2.0});
  probe.apply_gradients({vec({0.25, -1.0})}, {x});
  probe.apply_gradients({vec({0.75, 3.0})}, {x});
  // By hand: steps = 2; gradient_sum = 10 + 0.25 + 0.75 = 11 and 10 - 1 + 3 = 12; x = x - 0.5·Σg.
  const optim::NamedTensors state = probe.state({{"x", x}});
  REQUIRE(state.size() == 3);
  CHECK(state[1].first == "x/steps");
  CHECK(state[1].second.to_vector() == Vec{2.0, 2.0});
  CHECK(state[2].first == "x/gradient_sum");
  CHECK(state[2].second.to_vector() == Vec{11.0, 12.0});
  CHECK(x.value().to_vector() == Vec{0.5, 1.0});
  CHECK_FALSE(probe.absent_found);
  CHECK(probe.absent_refused);
}
