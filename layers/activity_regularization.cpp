#include "keel/layers/activity_regularization.h"

#include "keel/layers/detail/argument_checks.h"

namespace keel::layers {

ActivityRegularizationLayer::ActivityRegularizationLayer(Options options, std::string name)
    : Layer("ActivityRegularization", std::move(name)), options_(options) {
  detail::require_non_negative(*this, "l1", options_.l1);
  detail::require_non_negative(*this, "l2", options_.l2);
  set_activity_regularizer(regularizers::L1L2{.l1 = options_.l1, .l2 = options_.l2});
}

Tensor ActivityRegularizationLayer::call(const Tensor& x, const CallContext&) { return x; }

nlohmann::json ActivityRegularizationLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["l1"] = options_.l1;
  c["l2"] = options_.l2;
  return c;
}

std::shared_ptr<ActivityRegularizationLayer> ActivityRegularizationLayer::from_config(const nlohmann::json& c) {
  return make_from_config<ActivityRegularizationLayer>("ActivityRegularization", c, [](config::ConfigReader& r) -> Options {
    return {.l1 = r.number("l1", 0.0), .l2 = r.number("l2", 0.0)};
  });
}

Ref<ActivityRegularizationLayer> ActivityRegularization(ActivityRegularizationLayer::Options options,
                                                                    std::string name) {
  return std::make_shared<ActivityRegularizationLayer>(options, std::move(name));
}

}  // namespace keel::layers
