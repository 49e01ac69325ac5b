#include "keel/optim/registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "keel/core/config_reader.h"
#include "keel/core/error.h"
#include "keel/optim/adagrad.h"
#include "keel/optim/adam.h"
#include "keel/optim/adamw.h"
#include "keel/optim/rmsprop.h"
#include "keel/optim/sgd.h"

namespace keel::optim {
namespace {

using nlohmann::json;

template <class Map>
std::string known_names(const Map& map) {
  std::string out;
  for (const auto& [name, factory] : map) out += (out.empty() ? "" : ", ") + name;
  return out;
}

// Reads arguments into their slots with the strict config::ConfigReader; a null value keeps the
// default. Every key must be read or ignored.
class ConfigReader {
 public:
  ConfigReader(const json& config, const std::string& class_name) : reader_(config, class_name + ".from_config") {}

  void read(const char* key, double& out) { out = present(key) ? reader_.number(key, out) : out; }
  void read(const char* key, bool& out) { out = present(key) ? reader_.boolean(key, out) : out; }
  void read(const char* key, std::int64_t& out) { out = present(key) ? reader_.integer(key, out) : out; }
  void read(const char* key, std::vector<std::int64_t>& out) { out = present(key) ? reader_.integers(key, out) : out; }
  void read(const char* key, std::vector<double>& out) { out = present(key) ? reader_.numbers(key, out) : out; }
  void read(const char* key, std::vector<std::string>& out) { out = present(key) ? reader_.strings(key, out) : out; }
  void read(const char* key, std::optional<double>& out) { out = present(key) ? reader_.optional_number(key) : out; }
  void read(const char* key, LearningRate& out) {
    if (!present(key)) return;
    const json& value = reader_.value(key);
    if (value.is_object())
      out = schedule_from_config(value);
    else
      out = reader_.number(key, 0.0);
  }

  void ignore(const char* key) { reader_.ignore(key); }
  void finish() const { reader_.finish(); }

 private:
  bool present(const char* key) { return !reader_.value(key).is_null(); }

  config::ConfigReader reader_;
};

template <class Options>
void read_common(ConfigReader& reader, Options& options) {
  reader.ignore("name");
  reader.read("learning_rate", options.learning_rate);
  reader.read("weight_decay", options.weight_decay);
  reader.read("clipnorm", options.clipnorm);
  reader.read("clipvalue", options.clipvalue);
  reader.read("global_clipnorm", options.global_clipnorm);
  reader.read("exclude_from_weight_decay", options.exclude_from_weight_decay);
}

template <class Opt, class Fn>
std::shared_ptr<Optimizer> build_optimizer(const json& config, const char* class_name, Fn&& read_specific) {
  ConfigReader reader(config, class_name);
  typename Opt::Options options;
  read_common(reader, options);
  read_specific(reader, options);
  reader.finish();
  return std::make_shared<Opt>(options);
}

using OptimizerFactory = std::function<std::shared_ptr<Optimizer>(const json&)>;

const std::map<std::string, OptimizerFactory>& optimizer_factories() {
  static const std::map<std::string, OptimizerFactory> factories = {
      {"SGD",
       [](const json& c) {
         return build_optimizer<SGD>(c, "SGD", [](ConfigReader& r, SGDOptions& o) {
           r.read("momentum", o.momentum);
           r.read("nesterov", o.nesterov);
         });
       }},
      {"Adam",
       [](const json& c) {
         return build_optimizer<Adam>(c, "Adam", [](ConfigReader& r, AdamOptions& o) {
           r.read("beta_1", o.beta_1);
           r.read("beta_2", o.beta_2);
           r.read("epsilon", o.epsilon);
           r.read("amsgrad", o.amsgrad);
         });
       }},
      {"AdamW",
       [](const json& c) {
         return build_optimizer<AdamW>(c, "AdamW", [](ConfigReader& r, AdamWOptions& o) {
           r.read("beta_1", o.beta_1);
           r.read("beta_2", o.beta_2);
           r.read("epsilon", o.epsilon);
           r.read("amsgrad", o.amsgrad);
         });
       }},
      {"RMSprop",
       [](const json& c) {
         return build_optimizer<RMSprop>(c, "RMSprop", [](ConfigReader& r, RMSpropOptions& o) {
           r.read("rho", o.rho);
           r.read("momentum", o.momentum);
           r.read("epsilon", o.epsilon);
           r.read("centered", o.centered);
         });
       }},
      {"Adagrad",
       [](const json& c) {
         return build_optimizer<Adagrad>(c, "Adagrad", [](ConfigReader& r, AdagradOptions& o) {
           r.read("initial_accumulator_value", o.initial_accumulator_value);
           r.read("epsilon", o.epsilon);
         });
       }},
  };
  return factories;
}

using ScheduleFactory = std::function<std::shared_ptr<LearningRateSchedule>(const json&)>;

const std::map<std::string, ScheduleFactory>& schedule_factories() {
  static const std::map<std::string, ScheduleFactory> factories = {
      {"ExponentialDecay",
       [](const json& c) {
         ConfigReader r(c, "ExponentialDecay");
         double initial = 0.0, rate = 0.0;
         std::int64_t steps = 0;
         bool staircase = false;
         r.read("initial_learning_rate", initial);
         r.read("decay_steps", steps);
         r.read("decay_rate", rate);
         r.read("staircase", staircase);
         r.finish();
         return std::make_shared<ExponentialDecay>(initial, steps, rate, staircase);
       }},
      {"PiecewiseConstantDecay",
       [](const json& c) {
         ConfigReader r(c, "PiecewiseConstantDecay");
         std::vector<std::int64_t> boundaries;
         std::vector<double> values;
         r.read("boundaries", boundaries);
         r.read("values", values);
         r.finish();
         return std::make_shared<PiecewiseConstantDecay>(boundaries, values);
       }},
      {"CosineDecay",
       [](const json& c) {
         ConfigReader r(c, "CosineDecay");
         double initial = 0.0, alpha = 0.0;
         std::int64_t steps = 0, warmup_steps = 0;
         std::optional<double> warmup_target;
         r.read("initial_learning_rate", initial);
         r.read("decay_steps", steps);
         r.read("alpha", alpha);
         r.read("warmup_target", warmup_target);
         r.read("warmup_steps", warmup_steps);
         r.finish();
         return std::make_shared<CosineDecay>(initial, steps, alpha, warmup_target, warmup_steps);
       }},
  };
  return factories;
}

// Looks up config["class_name"] in `factories` and calls the factory with config["config"].
template <class Map>
auto build_from(const Map& factories, const json& config, const char* kind) {
  if (!config.is_object() || !config.contains("class_name") || !config["class_name"].is_string())
    throw ValueError(fmt::format("{} from_config: expected {{\"class_name\": ..., \"config\": {{...}}}}, got {}", kind,
                                 config.dump()));
  std::string class_name = config["class_name"].get<std::string>();
  auto it = factories.find(class_name);
  if (it == factories.end())
    throw ValueError(fmt::format("{} from_config: unknown class_name '{}'; known: {}", kind, class_name,
                                 known_names(factories)));
  return it->second(config.contains("config") ? config["config"] : json::object());
}

}  // namespace

std::shared_ptr<Optimizer> get(const std::string& name) {
  static const std::map<std::string, std::function<std::shared_ptr<Optimizer>()>> by_name = {
      {"adagrad", [] { return std::make_shared<Adagrad>(); }},
      {"adam", [] { return std::make_shared<Adam>(); }},
      {"adamw", [] { return std::make_shared<AdamW>(); }},
      {"rmsprop", [] { return std::make_shared<RMSprop>(); }},
      {"sgd", [] { return std::make_shared<SGD>(); }},
  };
  std::string key = name;
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto it = by_name.find(key);
  if (it == by_name.end())
    throw ValueError(fmt::format("optim::get: unknown optimizer '{}'; known: {}", name, known_names(by_name)));
  return it->second();
}

std::shared_ptr<Optimizer> from_config(const json& config) {
  return build_from(optimizer_factories(), config, "optimizer");
}

std::shared_ptr<LearningRateSchedule> schedule_from_config(const json& config) {
  return build_from(schedule_factories(), config, "schedule");
}

}  // namespace keel::optim
