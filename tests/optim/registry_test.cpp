#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "keel/core/error.h"
#include "keel/optim/adagrad.h"
#include "keel/optim/adam.h"
#include "keel/optim/adamw.h"
#include "keel/optim/registry.h"
#include "keel/optim/rmsprop.h"
#include "keel/optim/sgd.h"

using Catch::Matchers::Contains;
namespace optim = keel::optim;
using nlohmann::json;

TEST_CASE("optim::get builds Keras's defaults by name, case-insensitively", "[optim]") {
  auto sgd = optim::get("SGD");
  CHECK(sgd->class_name() == "SGD");
  CHECK(sgd->learning_rate() == 0.01);
  auto adam = std::dynamic_pointer_cast<optim::Adam>(optim::get("adam"));
  REQUIRE(adam);
  CHECK(adam->learning_rate() == 0.001);
  CHECK(adam->beta_1() == 0.9);
  CHECK(adam->beta_2() == 0.999);
  CHECK(adam->epsilon() == 1e-7);
  CHECK_FALSE(adam->amsgrad());
  CHECK(optim::get("AdamW")->options().weight_decay == 0.004);
  auto rms = std::dynamic_pointer_cast<optim::RMSprop>(optim::get("RMSProp"));
  REQUIRE(rms);
  CHECK(rms->rho() == 0.9);
  CHECK(rms->momentum() == 0.0);
  CHECK_FALSE(rms->centered());
  auto adagrad = std::dynamic_pointer_cast<optim::Adagrad>(optim::get("adagrad"));
  REQUIRE(adagrad);
  CHECK(adagrad->initial_accumulator_value() == 0.1);
  REQUIRE_THROWS_AS(optim::get("adadelta"), keel::ValueError);
  REQUIRE_THROWS_WITH(optim::get("adadelta"), Contains("adadelta") && Contains("adam, adamw, rmsprop, sgd"));
}

TEST_CASE("get_config lists every argument and from_config rebuilds the same optimizer", "[optim]") {
  std::vector<std::shared_ptr<optim::Optimizer>> originals = {
      std::make_shared<optim::SGD>(optim::SGDOptions{.learning_rate = 0.2, .momentum = 0.8, .nesterov = true,
                                                     .weight_decay = 0.1, .clipnorm = 2.0}),
      std::make_shared<optim::Adam>(optim::AdamOptions{.learning_rate = 0.003, .beta_1 = 0.8, .amsgrad = true,
                                                       .clipvalue = 0.5, .exclude_from_weight_decay = {"bias"}}),
      std::make_shared<optim::AdamW>(optim::AdamWOptions{
          .learning_rate = std::make_shared<optim::CosineDecay>(0.01, 100, 0.1, 0.02, 10), .weight_decay = 0.05}),
      std::make_shared<optim::RMSprop>(optim::RMSpropOptions{
          .learning_rate = std::make_shared<optim::ExponentialDecay>(0.1, 10, 0.9, true), .rho = 0.8,
          .momentum = 0.3, .centered = true, .global_clipnorm = 1.0}),
      std::make_shared<optim::Adagrad>(optim::AdagradOptions{
          .learning_rate = std::make_shared<optim::PiecewiseConstantDecay>(std::vector<std::int64_t>{5, 10},
                                                                           std::vector<double>{0.3, 0.2, 0.1}),
          .initial_accumulator_value = 0.5, .epsilon = 1e-5}),
  };
  for (const auto& original : originals) {
    json config = original->get_config();
    INFO(config.dump());
    auto rebuilt = optim::from_config(config);
    CHECK(rebuilt->class_name() == original->class_name());
    CHECK(rebuilt->get_config() == config);
    CHECK(json::parse(config.dump()) == config);  // survives text
  }
  json adam = originals[1]->get_config();
  CHECK(adam["class_name"] == "Adam");
  const json& c = adam["config"];
  CHECK(c["name"] == "adam");
  CHECK(c["learning_rate"] == 0.003);
  CHECK(c["beta_1"] == 0.8);
  CHECK(c["beta_2"] == 0.999);
  CHECK(c["epsilon"] == 1e-7);
  CHECK(c["amsgrad"] == true);
  CHECK(c["clipvalue"] == 0.5);
  CHECK(c["clipnorm"].is_null());
  CHECK(c["global_clipnorm"].is_null());
  CHECK(c["weight_decay"].is_null());
  CHECK(c["exclude_from_weight_decay"] == json::array({"bias"}));
  json adamw = originals[2]->get_config();
  CHECK(adamw["config"]["learning_rate"]["class_name"] == "CosineDecay");
  CHECK(adamw["config"]["learning_rate"]["config"]["warmup_target"] == 0.02);
  // The rebuilt schedule gives the same rates.
  auto schedule = optim::schedule_from_config(adamw["config"]["learning_rate"]);
  optim::CosineDecay direct(0.01, 100, 0.1, 0.02, 10);
  for (std::int64_t step : {0, 5, 10, 60, 200}) CHECK((*schedule)(step) == direct(step));
}

TEST_CASE("from_config refuses unknown classes and arguments, naming them", "[optim]") {
  REQUIRE_THROWS_AS(optim::from_config(json{{"class_name", "Nadam"}, {"config", json::object()}}), keel::ValueError);
  REQUIRE_THROWS_WITH(optim::from_config(json{{"class_name", "Nadam"}, {"config", json::object()}}),
                      Contains("Nadam") && Contains("Adagrad, Adam, AdamW, RMSprop, SGD"));
  REQUIRE_THROWS_WITH(optim::from_config(json{{"class_name", "SGD"}, {"config", {{"mometum", 0.9}}}}),
                      Contains("SGD") && Contains("mometum"));
  REQUIRE_THROWS_WITH(optim::from_config(json{{"class_name", "Adam"}, {"config", {{"beta_1", "high"}}}}),
                      Contains("beta_1") && Contains("high"));
  REQUIRE_THROWS_WITH(optim::from_config(json{{"class_name", "Adam"}, {"config", {{"beta_1", 2.0}}}}),
                      Contains("beta_1") && Contains("2"));
  REQUIRE_THROWS_WITH(optim::schedule_from_config(json{{"class_name", "StepDecay"}}),
                      Contains("StepDecay") && Contains("CosineDecay, ExponentialDecay, PiecewiseConstantDecay"));
  REQUIRE_THROWS_WITH(optim::from_config(json::array()), Contains("class_name"));
}

TEST_CASE("optimizer and schedule configs refuse non-integral integers and mistyped lists", "[optim]") {
  REQUIRE_THROWS_AS(optim::schedule_from_config(json{{"class_name", "ExponentialDecay"},
                                                     {"config", {{"initial_learning_rate", 0.1}, {"decay_steps", 3.5}}}}),
                    keel::ValueError);
  REQUIRE_THROWS_WITH(optim::schedule_from_config(json{{"class_name", "ExponentialDecay"},
                                                       {"config", {{"initial_learning_rate", 0.1}, {"decay_steps", 3.5}}}}),
                      Contains("ExponentialDecay") && Contains("'decay_steps'") && Contains("3.5"));
  REQUIRE_THROWS_WITH(optim::schedule_from_config(json{{"class_name", "PiecewiseConstantDecay"},
                                                       {"config", {{"boundaries", {10, 20.5}}, {"values", {1, 2, 3}}}}}),
                      Contains("PiecewiseConstantDecay") && Contains("'boundaries'"));
  REQUIRE_THROWS_WITH(optim::from_config(json{{"class_name", "AdamW"}, {"config", {{"exclude_from_weight_decay", {1}}}}}),
                      Contains("AdamW") && Contains("'exclude_from_weight_decay'"));
  REQUIRE_THROWS_WITH(optim::from_config(json{{"class_name", "SGD"}, {"config", {{"nesterov", 1}}}}),
                      Contains("SGD") && Contains("'nesterov'"));
}
