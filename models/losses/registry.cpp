// Losses by Keras name and from JSON configs (a fixed allow-list of classes).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <map>

#include "keel/core/error.h"
#include "keel/core/config_reader.h"
#include "keel/models/detail/config_reader.h"
#include "keel/models/losses.h"

namespace keel::losses {
namespace {

using config::ConfigReader;

const std::map<std::string, std::function<std::shared_ptr<Loss>()>, std::less<>>& by_name() {
  static const std::map<std::string, std::function<std::shared_ptr<Loss>()>, std::less<>> table = [] {
    std::map<std::string, std::function<std::shared_ptr<Loss>()>, std::less<>> t;
    auto sparse = [] { return std::make_shared<SparseCategoricalCrossentropy>(); };
    auto categorical = [] { return std::make_shared<CategoricalCrossentropy>(); };
    auto binary = [] { return std::make_shared<BinaryCrossentropy>(); };
    auto mse = [] { return std::make_shared<MeanSquaredError>(); };
    auto mae = [] { return std::make_shared<MeanAbsoluteError>(); };
    auto huber = [] { return std::make_shared<Huber>(); };
    t["sparse_categorical_crossentropy"] = t["SparseCategoricalCrossentropy"] = sparse;
    t["categorical_crossentropy"] = t["CategoricalCrossentropy"] = categorical;
    t["binary_crossentropy"] = t["BinaryCrossentropy"] = binary;
    t["mse"] = t["mean_squared_error"] = t["MeanSquaredError"] = mse;
    t["mae"] = t["mean_absolute_error"] = t["MeanAbsoluteError"] = mae;
    t["huber"] = t["Huber"] = huber;
    return t;
  }();
  return table;
}

// Reads the options a loss class has (detected by member) from its config.
template <class L, class Options>
std::shared_ptr<Loss> from_reader(ConfigReader& c) {
  Options o;
  if constexpr (requires { o.from_logits; }) o.from_logits = c.boolean("from_logits", o.from_logits);
  if constexpr (requires { o.label_smoothing; }) o.label_smoothing = c.number("label_smoothing", o.label_smoothing);
  if constexpr (requires { o.delta; }) o.delta = c.number("delta", o.delta);
  o.reduction = reduction_from_name(c.string("reduction", reduction_name(o.reduction)));
  o.name = c.string("name", o.name);
  return std::make_shared<L>(o);
}

using Factory = std::shared_ptr<Loss> (*)(ConfigReader&);

const std::map<std::string, Factory, std::less<>>& by_class() {
  static const std::map<std::string, Factory, std::less<>> table = {
      {"SparseCategoricalCrossentropy",
       from_reader<SparseCategoricalCrossentropy, SparseCategoricalCrossentropyOptions>},
      {"CategoricalCrossentropy", from_reader<CategoricalCrossentropy, CategoricalCrossentropyOptions>},
      {"BinaryCrossentropy", from_reader<BinaryCrossentropy, BinaryCrossentropyOptions>},
      {"MeanSquaredError", from_reader<MeanSquaredError, RegressionLossOptions>},
      {"MeanAbsoluteError", from_reader<MeanAbsoluteError, RegressionLossOptions>},
      {"Huber", from_reader<Huber, HuberOptions>},
  };
  return table;
}

template <class Map>
std::vector<std::string> keys(const Map& map) {
  std::vector<std::string> out;
  for (const auto& [key, value] : map) out.push_back(key);
  return out;
}

}  // namespace

std::vector<std::string> known_names() { return keys(by_name()); }

std::shared_ptr<Loss> get(std::string_view name) {
  auto it = by_name().find(name);
  if (it == by_name().end())
    throw ValueError(fmt::format("losses::get: unknown loss '{}'; known losses are [{}]", name,
                                 fmt::join(known_names(), ", ")));
  return it->second();
}

nlohmann::json serialize(const Loss& loss) { return {{"class_name", loss.class_name()}, {"config", loss.get_config()}}; }

std::shared_ptr<Loss> from_config(const nlohmann::json& json) {
  const auto [cls, config] = models::detail::split_serialized(json, "losses::from_config");
  auto it = by_class().find(cls);
  if (it == by_class().end())
    throw ValueError(fmt::format("losses::from_config: unknown loss class '{}'; known classes are [{}]", cls,
                                 fmt::join(keys(by_class()), ", ")));
  ConfigReader reader(config, cls);
  std::shared_ptr<Loss> loss = it->second(reader);
  reader.finish();
  return loss;
}

}  // namespace keel::losses
