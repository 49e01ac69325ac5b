#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/models/losses.h"

namespace keel::losses {

const char* reduction_name(Reduction reduction) {
  switch (reduction) {
    case Reduction::sum_over_batch_size: return "sum_over_batch_size";
    case Reduction::sum: return "sum";
    case Reduction::none: return "none";
  }
  return "sum_over_batch_size";
}

Reduction reduction_from_name(std::string_view name) {
  for (Reduction r : {Reduction::sum_over_batch_size, Reduction::sum, Reduction::none})
    if (name == reduction_name(r)) return r;
  throw ValueError(fmt::format("loss reduction must be one of sum_over_batch_size, sum, none; got '{}'", name));
}

Loss::Loss(std::string name, Reduction reduction) : name_(std::move(name)), reduction_(reduction) {}

namespace {

// sample_weight lined up with the per-sample losses: a trailing 1 beyond their rank is dropped and
// missing trailing axes are added, so one weight per sample covers all of that sample's losses.
Tensor weights_for(const Tensor& sample_weight, const Tensor& values, const char* op) {
  Tensor w = is_floating(sample_weight.dtype()) ? ops::cast(sample_weight, values.dtype())
                                                : sample_weight.to(values.dtype());
  if (w.dim() == values.dim() + 1 && w.shape().back() == 1) w = ops::squeeze(w, -1);
  while (w.dim() < values.dim()) w = ops::unsqueeze(w, -1);
  bool fits = w.dim() == values.dim();
  for (std::int64_t a = 0; fits && a < w.dim(); ++a) fits = w.shape()[a] == 1 || w.shape()[a] == values.shape()[a];
  if (!fits)
    throw ShapeError(fmt::format("{}: sample_weight of shape {} does not broadcast to the per-sample losses of shape {}",
                                 op, to_string(sample_weight.shape()), to_string(values.shape())));
  return w;
}

}  // namespace

Tensor Loss::operator()(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) const {
  Tensor values = call(y_true, y_pred);
  if (sample_weight.defined()) values = values * weights_for(sample_weight, values, class_name());
  switch (reduction_) {
    case Reduction::none: return values;
    case Reduction::sum: return ops::sum(values);
    case Reduction::sum_over_batch_size: {
      // Divided by the number of loss elements, not by Σw (docs/semantics.md §5); no division for zero elements.
      Tensor total = ops::sum(values);
      return values.numel() > 0 ? total / static_cast<double>(values.numel()) : total;
    }
  }
  return values;
}

nlohmann::json Loss::get_config() const {
  return {{"name", name_}, {"reduction", reduction_name(reduction_)}};
}

}  // namespace keel::losses
