#include "keel/models/detail/keras_compile.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "keel/core/error.h"
#include "keel/models/detail/keras_config.h"
#include "keel/models/losses.h"
#include "keel/models/metrics.h"
#include "keel/optim/registry.h"

namespace keel::keras {
namespace {

// Keras 2 optimizer configs: "lr" is learning_rate, decay 0 is no decay; Keras 3 prefixes "Custom>";
// execution settings and a disabled EMA do not change the updates.
nlohmann::json keel_optimizer_config(nlohmann::json config) {
  std::string class_name = config.value("class_name", std::string());
  if (class_name.rfind("Custom>", 0) == 0) config["class_name"] = class_name.substr(7);
  nlohmann::json& c = config["config"];
  if (c.is_object()) {
    if (c.contains("lr") && !c.contains("learning_rate")) c["learning_rate"] = c["lr"];
    c.erase("lr");
    if (c.contains("decay") && c["decay"] == 0.0) c.erase("decay");
    // tf.keras 2.11+ and Keras 3: how the update is compiled, and an EMA that is off.
    for (const char* execution : {"jit_compile", "is_legacy_optimizer"}) c.erase(execution);
    if (c.contains("use_ema") && c["use_ema"] == false)
      for (const char* ema : {"use_ema", "ema_momentum", "ema_overwrite_frequency"}) c.erase(ema);
  }
  return config;
}

// tf.keras 2's loss objects: reduction "auto" is sum_over_batch_size under fit, "fn" names the function
// the class itself wraps, and axis -1 is where keel's losses reduce.
nlohmann::json keel_loss_config(nlohmann::json loss) {
  loss = without_class_locations(loss);
  if (loss.is_object() && loss.contains("config") && loss["config"].is_object()) {
    nlohmann::json& c = loss["config"];
    if (c.value("reduction", nlohmann::json()) == "auto") c["reduction"] = "sum_over_batch_size";
    c.erase("fn");
    if (c.value("axis", nlohmann::json()) == -1) c.erase("axis");  // the last axis, the only one keel's losses use
  }
  return loss;
}

std::vector<MetricSpec> keel_metrics(const nlohmann::json& metrics) {
  std::vector<MetricSpec> out;
  if (metrics.is_null()) return out;
  if (!metrics.is_array()) throw ValueError(fmt::format("metrics {} are not a list", metrics.dump()));
  for (const auto& m : metrics) {
    if (m.is_array()) {  // one list per output
      for (auto& inner : keel_metrics(m)) out.push_back(std::move(inner));
    } else if (m.is_string()) {
      out.emplace_back(m.get<std::string>());
    } else if (m.is_object() && m.contains("config") && m["config"].contains("name") && m["config"]["name"].is_string()) {
      out.emplace_back(m["config"]["name"].get<std::string>());
    } else {
      throw ValueError(fmt::format("metric {} is neither a name nor a Keras metric object", m.dump()));
    }
  }
  return out;
}

// Compiles `model` with the optimizer, loss and metrics Keras recorded, when keel has all three.
void compile_as_recorded(Model& model, const nlohmann::json& optimizer, const nlohmann::json& loss,
                         const nlohmann::json& metrics, const std::string& source) {
  try {
    if (loss.is_null()) throw ValueError("it has no loss");
    CompileOptions options;
    options.optimizer = optimizer.is_string() ? optim::get(optimizer.get<std::string>())
                                              : optim::from_config(keel_optimizer_config(without_class_locations(optimizer)));
    options.loss = loss.is_string() ? losses::get(loss.get<std::string>())
                                    : losses::from_config(keel_loss_config(loss));
    options.metrics = keel_metrics(metrics);
    model.compile(std::move(options));
  } catch (const Error& e) {
    spdlog::warn("{}: the model stays uncompiled, as its compile settings do not map onto keel: {}", source, e.what());
  } catch (const nlohmann::json::exception& e) {
    spdlog::warn("{}: the model stays uncompiled, as its compile settings are malformed: {}", source, e.what());
  }
}

}  // namespace

void compile_from_training_config(Model& model, const std::string& text, const std::string& source) {
  nlohmann::json training;
  try {
    training = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    spdlog::warn("{}: the model stays uncompiled, as its training_config is not JSON: {}", source, e.what());
    return;
  }
  if (!training.is_object()) return compile_as_recorded(model, nullptr, nullptr, nullptr, source);
  compile_as_recorded(model, training.value("optimizer_config", nlohmann::json()),
                      training.value("loss", nlohmann::json()), training.value("metrics", nlohmann::json()), source);
}

void compile_from_compile_config(Model& model, const nlohmann::json& config, const std::string& source) {
  if (!config.is_object()) return compile_as_recorded(model, nullptr, nullptr, nullptr, source);
  compile_as_recorded(model, config.value("optimizer", nlohmann::json()), config.value("loss", nlohmann::json()),
                      config.value("metrics", nlohmann::json()), source);
}


}  // namespace keel::keras
