#include "keel/models/model.h"

#include <fmt/format.h>

#include "keel/core/error.h"
#include "keel/models/detail/training_state.h"
#include "keel/optim/registry.h"

namespace keel {

using Access = models::detail::CallGuard::Access;

OptimizerSpec::OptimizerSpec(const char* name) : OptimizerSpec(std::string(name)) {}
OptimizerSpec::OptimizerSpec(const std::string& name) : optimizer(optim::get(name)) {}
LossSpec::LossSpec(const char* name) : LossSpec(std::string(name)) {}
LossSpec::LossSpec(const std::string& name) : loss(losses::get(name)) {}
MetricSpec::MetricSpec(std::shared_ptr<metrics::Metric> m, int) : metric(std::move(m)) {
  if (!metric) throw ValueError("compile: a metric is null");
  name = metric->name();
}
MetricSpec::MetricSpec(const char* n) : MetricSpec(std::string(n)) {}
MetricSpec::MetricSpec(const std::string& n) : name(n) {
  // "accuracy" / "acc" depend on the shapes of the first batch (Keras's rule).
  if (n != "accuracy" && n != "acc") metric = metrics::get(n);
}

Model::Model(std::string class_name, std::string name)
    : Layer(std::move(class_name), std::move(name)), state_(std::make_unique<models::detail::TrainingState>()) {}

Model::~Model() = default;

void Model::compile(CompileOptions options) {
  auto entry = state_->calls.enter(Access::exclusive, "compile", name());
  if (!options.optimizer.optimizer) throw ValueError(fmt::format("compile: model '{}' needs an optimizer", name()));
  if (!options.loss.loss) throw ValueError(fmt::format("compile: model '{}' needs a loss", name()));
  state_->optimizer = options.optimizer.optimizer;
  state_->loss = options.loss.loss;
  state_->metric_specs = options.metrics;
  state_->metrics.clear();
  state_->compiled = true;
  state_->snapshot_taken = false;
  if (build_from_declared_input()) {
    state_->trained = trainable_weights();
    state_->snapshot_taken = true;
  }
}

bool Model::compiled() const { return state_->compiled; }

nlohmann::json Model::get_compile_config() const {
  if (!state_->compiled) return nullptr;
  nlohmann::json metrics = nlohmann::json::array();
  for (const auto& spec : state_->metric_specs) metrics.push_back(spec.name);
  return {{"optimizer", state_->optimizer->get_config()},
          {"loss", losses::serialize(*state_->loss)},
          {"metrics", metrics}};
}

const std::shared_ptr<optim::Optimizer>& Model::optimizer() const { return state_->optimizer; }

std::vector<std::string> Model::metrics_names() const {
  std::vector<std::string> names{"loss"};
  for (const auto& spec : state_->metric_specs) names.push_back(spec.name);
  return names;
}

std::vector<Tensor> Model::get_weights() const {
  auto entry = state_->calls.enter(Access::shared, "get_weights", name());
  return Layer::get_weights();
}

void Model::set_weights(const std::vector<Tensor>& values) {
  auto entry = state_->calls.enter(Access::exclusive, "set_weights", name());
  Layer::set_weights(values);
}

std::size_t Model::calls_waiting() const { return state_->calls.waiting(); }

}  // namespace keel
