#include "keel/models/model.h"

#include <fmt/format.h>

#include <algorithm>

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

std::vector<LossSpec> Losses::per_output(const std::vector<std::string>& output_names) const {
  if (every_output_) return std::vector<LossSpec>(output_names.size(), *every_output_);
  if (empty()) return {};
  return in_order(output_names, "compile", "loss");
}

std::vector<std::vector<MetricSpec>> Metrics::per_output(const std::vector<std::string>& output_names) const {
  if (!flat_) return per_output_.in_order(output_names, "compile", "metrics", /*every_name=*/false);
  if (output_names.size() == 1) return {flat_list_};
  // Keras: with several outputs a flat list holds one metric per output.
  if (flat_list_.empty()) return std::vector<std::vector<MetricSpec>>(output_names.size());
  std::vector<std::vector<MetricSpec>> lists;
  for (const MetricSpec& spec : flat_list_) lists.push_back({spec});
  return ListOrMap<std::vector<MetricSpec>>(lists).in_order(output_names, "compile", "metrics");
}

Model::Model(std::string class_name, std::string name)
    : Layer(std::move(class_name), std::move(name)), state_(std::make_unique<models::detail::TrainingState>()) {}

Model::~Model() = default;

void Model::compile(CompileOptions options) {
  auto entry = state_->calls.enter(Access::exclusive, "compile", name());
  if (!options.optimizer.optimizer) throw ValueError(fmt::format("compile: model '{}' needs an optimizer", name()));
  const std::vector<std::string> outputs = output_names();
  std::vector<LossSpec> specs = options.loss.per_output(outputs);
  if (specs.empty()) throw ValueError(fmt::format("compile: model '{}' needs a loss", name()));
  std::vector<std::shared_ptr<losses::Loss>> per_output_losses;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (!specs[i].loss) throw ValueError(fmt::format("compile: model '{}' needs a loss for output '{}'", name(), outputs[i]));
    per_output_losses.push_back(specs[i].loss);
  }
  std::vector<double> weights;
  if (!options.loss_weights.empty()) weights = options.loss_weights.in_order(outputs, "compile", "loss_weights");
  auto metric_specs = options.metrics.per_output(outputs);
  state_->optimizer = options.optimizer.optimizer;
  state_->output_names = outputs;
  state_->losses = std::move(per_output_losses);
  state_->loss_weights = std::move(weights);
  state_->metric_specs = std::move(metric_specs);
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
  // One output: Keras's single loss and flat metrics list. Several: a list per output of each.
  const auto& s = *state_;
  auto names_of = [](const std::vector<MetricSpec>& specs) {
    nlohmann::json names = nlohmann::json::array();
    for (const auto& spec : specs) names.push_back(spec.name);
    return names;
  };
  nlohmann::json config = {{"optimizer", s.optimizer->get_config()}};
  if (s.losses.size() == 1) {
    config["loss"] = losses::serialize(*s.losses[0]);
    config["metrics"] = names_of(s.metric_specs[0]);
  } else {
    config["loss"] = nlohmann::json::array();
    config["metrics"] = nlohmann::json::array();
    for (std::size_t i = 0; i < s.losses.size(); ++i) {
      config["loss"].push_back(losses::serialize(*s.losses[i]));
      config["metrics"].push_back(names_of(s.metric_specs[i]));
    }
  }
  if (!s.loss_weights.empty()) config["loss_weights"] = s.loss_weights;
  return config;
}

const std::shared_ptr<optim::Optimizer>& Model::optimizer() const { return state_->optimizer; }

std::vector<std::string> Model::metrics_names() const {
  const auto& s = *state_;
  std::vector<std::string> names{"loss"};
  if (s.output_names.size() <= 1) {
    for (const auto& specs : s.metric_specs)
      for (const auto& spec : specs) names.push_back(spec.name);
    return names;
  }
  for (const auto& output : s.output_names) names.push_back(output + "_loss");
  std::vector<std::string> metric_names;
  for (std::size_t i = 0; i < s.output_names.size(); ++i)
    for (const auto& spec : s.metric_specs[i]) metric_names.push_back(s.output_names[i] + "_" + spec.name);
  std::sort(metric_names.begin(), metric_names.end());  // Keras 3's evaluate order
  names.insert(names.end(), metric_names.begin(), metric_names.end());
  return names;
}

std::vector<std::string> Model::input_names() const { return {"input"}; }

std::vector<std::string> Model::output_names() const {
  auto layers = sublayers();
  return {layers.empty() ? name() : layers.back()->name()};
}

std::vector<Tensor> Model::call_all(const std::vector<Tensor>& inputs, const layers::CallContext& ctx) {
  if (inputs.size() != 1)
    throw ValueError(fmt::format("{} '{}' takes one input, got {}", class_name(), name(), inputs.size()));
  return {(*this)(inputs[0], ctx)};
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
