#include <catch2/catch.hpp>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/layers/dense.h"
#include "keel/layers/registry.h"

using Catch::Matchers::Contains;
using keel::Tensor;
namespace layers = keel::layers;

namespace {
class Doubler : public layers::Layer {
 public:
  explicit Doubler(std::string name = "") : Layer("Doubler", std::move(name)) {}

 protected:
  Tensor call(const Tensor& x, const layers::CallContext&) override { return x * 2.0; }
};
}  // namespace

TEST_CASE("the registry rebuilds built-in classes and refuses unknown ones", "[layers][registry]") {
  auto dense = layers::deserialize({{"class_name", "Dense"}, {"config", {{"units", 3}, {"name", "from_json"}}}});
  CHECK(dense->name() == "from_json");
  CHECK(std::dynamic_pointer_cast<layers::DenseLayer>(dense)->options().units == 3);
  REQUIRE_THROWS_AS(layers::deserialize({{"class_name", "Lambda"}, {"config", nlohmann::json::object()}}),
                    keel::ValueError);
  REQUIRE_THROWS_WITH(layers::deserialize({{"class_name", "Lambda"}, {"config", nlohmann::json::object()}}),
                      Contains("'Lambda'"));
  REQUIRE_THROWS_WITH(layers::deserialize({{"config", nlohmann::json::object()}}), Contains("class_name"));
  REQUIRE_THROWS_AS(layers::deserialize({{"class_name", "Dense"}, {"config", {{"units", 0}}}}), keel::ValueError);
}

TEST_CASE("user layers load after explicit registration", "[layers][registry]") {
  REQUIRE_THROWS_AS(layers::deserialize({{"class_name", "Doubler"}}), keel::ValueError);
  layers::register_layer("Doubler", [](const nlohmann::json& c) -> layers::LayerPtr {
    return std::make_shared<Doubler>(c.value("name", std::string()));
  });
  Doubler original("twice");
  auto rebuilt = layers::deserialize(original.serialize());
  CHECK(rebuilt->name() == "twice");
  CHECK((*rebuilt)(Tensor::ones({1, 2})).to_vector() == std::vector<double>{2, 2});
  REQUIRE_THROWS_WITH(layers::register_layer("Dense", [](const nlohmann::json&) -> layers::LayerPtr { return nullptr; }),
                      Contains("'Dense'") && Contains("built-in"));
}
