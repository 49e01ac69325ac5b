// Metrics by Keras name, "accuracy" resolved from shapes, and metrics from JSON configs.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <map>

#include "keel/core/error.h"
#include "keel/core/config_reader.h"
#include "keel/models/detail/config_reader.h"
#include "keel/models/metrics.h"

namespace keel::metrics {
namespace {

using config::ConfigReader;

// Reads the options a metric class has (detected by member) from its config.
template <class M, class Options>
std::shared_ptr<Metric> from_reader(ConfigReader& c) {
  Options o;
  if constexpr (requires { o.threshold; }) o.threshold = c.number("threshold", o.threshold);
  if constexpr (requires { o.thresholds; }) o.thresholds = c.number("thresholds", o.thresholds);
  if constexpr (requires { o.k; }) o.k = c.integer("k", o.k);
  if constexpr (requires { o.num_thresholds; }) o.num_thresholds = c.integer("num_thresholds", o.num_thresholds);
  if constexpr (requires { o.from_logits; }) o.from_logits = c.boolean("from_logits", o.from_logits);
  o.name = c.string("name", o.name);
  return std::make_shared<M>(o);
}

using Factory = std::shared_ptr<Metric> (*)(ConfigReader&);

const std::map<std::string, Factory, std::less<>>& by_class() {
  static const std::map<std::string, Factory, std::less<>> table = {
      {"SparseCategoricalAccuracy", from_reader<SparseCategoricalAccuracy, NameOption>},
      {"CategoricalAccuracy", from_reader<CategoricalAccuracy, NameOption>},
      {"BinaryAccuracy", from_reader<BinaryAccuracy, BinaryAccuracyOptions>},
      {"TopKCategoricalAccuracy", from_reader<TopKCategoricalAccuracy, TopKOptions>},
      {"SparseTopKCategoricalAccuracy", from_reader<SparseTopKCategoricalAccuracy, TopKOptions>},
      {"Precision", from_reader<Precision, ThresholdOptions>},
      {"Recall", from_reader<Recall, ThresholdOptions>},
      {"AUC", from_reader<AUC, AUCOptions>},
      {"MeanSquaredError", from_reader<MeanSquaredError, NameOption>},
      {"MeanAbsoluteError", from_reader<MeanAbsoluteError, NameOption>},
      {"Mean", [](ConfigReader& c) -> std::shared_ptr<Metric> { return std::make_shared<Mean>(c.string("name", "mean")); }},
  };
  return table;
}

// Keras function names and their classes; get() also takes the class names themselves.
const std::map<std::string, std::string, std::less<>>& aliases() {
  static const std::map<std::string, std::string, std::less<>> table = {
      {"sparse_categorical_accuracy", "SparseCategoricalAccuracy"},
      {"categorical_accuracy", "CategoricalAccuracy"},
      {"binary_accuracy", "BinaryAccuracy"},
      {"top_k_categorical_accuracy", "TopKCategoricalAccuracy"},
      {"sparse_top_k_categorical_accuracy", "SparseTopKCategoricalAccuracy"},
      {"precision", "Precision"},
      {"recall", "Recall"},
      {"auc", "AUC"},
      {"mse", "MeanSquaredError"},
      {"mean_squared_error", "MeanSquaredError"},
      {"mae", "MeanAbsoluteError"},
      {"mean_absolute_error", "MeanAbsoluteError"},
  };
  return table;
}

bool is_accuracy(std::string_view name) { return name == "accuracy" || name == "acc"; }

std::shared_ptr<Metric> build(std::string_view cls) {
  const nlohmann::json empty = nlohmann::json::object();
  ConfigReader reader(empty, std::string(cls));
  return by_class().at(std::string(cls))(reader);
}

}  // namespace

std::vector<std::string> known_names() {
  std::vector<std::string> names;
  for (const auto& [alias, cls] : aliases()) names.push_back(alias);
  for (const auto& [cls, factory] : by_class()) names.push_back(cls);
  names.push_back("accuracy");
  names.push_back("acc");
  std::sort(names.begin(), names.end());
  return names;
}

std::shared_ptr<Metric> resolve_accuracy(const Shape& y_true_shape, const Shape& y_pred_shape, std::string name) {
  if (y_true_shape.empty() || y_pred_shape.empty())
    throw ShapeError(fmt::format("metric '{}': cannot resolve accuracy from rank-0 shapes, got y_true {} and y_pred {}",
                                 name, to_string(y_true_shape), to_string(y_pred_shape)));
  const std::int64_t true_last = y_true_shape.back(), pred_last = y_pred_shape.back();
  const bool binary = pred_last == 1;
  const bool sparse = y_true_shape.size() < y_pred_shape.size() || (true_last == 1 && pred_last > 1);
  if (binary) return std::make_shared<BinaryAccuracy>(BinaryAccuracyOptions{.name = std::move(name)});
  if (sparse) return std::make_shared<SparseCategoricalAccuracy>(NameOption{.name = std::move(name)});
  return std::make_shared<CategoricalAccuracy>(NameOption{.name = std::move(name)});
}

std::shared_ptr<Metric> get(std::string_view name) {
  if (is_accuracy(name))
    throw ValueError(fmt::format("metrics::get: '{}' depends on the target and output shapes; call "
                                 "metrics::get(name, y_true_shape, y_pred_shape)",
                                 name));
  std::shared_ptr<Metric> metric;
  if (auto alias = aliases().find(name); alias != aliases().end())
    metric = build(alias->second);
  else if (by_class().count(name))
    metric = build(name);
  else
    throw ValueError(fmt::format("metrics::get: unknown metric '{}'; known metrics are [{}]", name,
                                 fmt::join(known_names(), ", ")));
  metric->set_name(std::string(name));  // Keras names a metric given by string after that string
  return metric;
}

std::shared_ptr<Metric> get(std::string_view name, const Shape& y_true_shape, const Shape& y_pred_shape) {
  if (is_accuracy(name)) return resolve_accuracy(y_true_shape, y_pred_shape, std::string(name));
  return get(name);
}

nlohmann::json serialize(const Metric& metric) {
  return {{"class_name", metric.class_name()}, {"config", metric.get_config()}};
}

std::shared_ptr<Metric> from_config(const nlohmann::json& json) {
  const auto [cls, config] = models::detail::split_serialized(json, "metrics::from_config");
  auto it = by_class().find(cls);
  if (it == by_class().end()) {
    std::vector<std::string> classes;
    for (const auto& [name, factory] : by_class()) classes.push_back(name);
    throw ValueError(fmt::format("metrics::from_config: unknown metric class '{}'; known classes are [{}]", cls,
                                 fmt::join(classes, ", ")));
  }
  ConfigReader reader(config, cls);
  std::shared_ptr<Metric> metric = it->second(reader);
  reader.finish();
  return metric;
}

}  // namespace keel::metrics
