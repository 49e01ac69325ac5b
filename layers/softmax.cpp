#include "keel/layers/softmax.h"

#include <fmt/format.h>

#include <algorithm>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/layers/detail/axis_list.h"

namespace keel::layers {
namespace {

// Keras's "large negative number" for float32 and float64 logits.
constexpr double kMaskedLogit = -1e9;

// Softmax over several axes at once: move them last, merge them, take the last-axis softmax, undo.
Tensor softmax_over(const Tensor& x, const std::vector<std::int64_t>& axes) {
  if (axes.size() == 1) return ops::softmax(x, axes[0]);
  std::vector<std::int64_t> order, inverse(x.dim());
  for (std::int64_t a = 0; a < x.dim(); ++a)
    if (std::find(axes.begin(), axes.end(), a) == axes.end()) order.push_back(a);
  order.insert(order.end(), axes.begin(), axes.end());
  for (std::size_t i = 0; i < order.size(); ++i) inverse[order[i]] = static_cast<std::int64_t>(i);
  Tensor moved = ops::permute(x, order);
  Shape merged(moved.shape().begin(), moved.shape().end() - static_cast<std::ptrdiff_t>(axes.size()));
  merged.push_back(-1);
  Tensor y = ops::reshape(ops::softmax(ops::reshape(moved, merged), -1), moved.shape());
  return ops::permute(y, inverse);
}

}  // namespace

SoftmaxLayer::SoftmaxLayer(Options options, std::string name)
    : Layer("Softmax", std::move(name)), options_(std::move(options)) {
  if (options_.axis.empty())
    throw ValueError(fmt::format("Softmax '{}': axis must name at least one axis, got []", this->name()));
}

void SoftmaxLayer::build(const Shape& input_shape) { detail::resolve_axes(*this, options_.axis, input_shape); }

Tensor SoftmaxLayer::masked_logits(const Tensor& x, const Tensor& mask) const {
  bool fits = mask.dim() == x.dim();
  for (std::int64_t a = 0; fits && a < x.dim(); ++a) fits = mask.shape()[a] == 1 || mask.shape()[a] == x.shape()[a];
  if (!fits)
    throw ShapeError(fmt::format("Softmax '{}': the mask of shape {} does not broadcast to the input's shape {}", name(),
                                 to_string(mask.shape()), to_string(x.shape())));
  return ops::where(mask, x, ops::scalar_like(x, kMaskedLogit));
}

Tensor SoftmaxLayer::call(const Tensor& x, const CallContext& ctx) {
  const std::vector<std::int64_t> axes = detail::resolve_axes(*this, options_.axis, x.shape());
  if (!ctx.mask.defined()) return softmax_over(x, axes);
  const Tensor keep = ctx.mask.dtype() == DType::boolean ? ctx.mask
                                                         : ops::greater(ctx.mask, ops::scalar_like(ctx.mask, 0.5));
  return softmax_over(masked_logits(x, keep), axes) * keep.to(x.dtype());
}

nlohmann::json SoftmaxLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axis"] = detail::axis_list_to_json(options_.axis);
  return c;
}

std::shared_ptr<SoftmaxLayer> SoftmaxLayer::from_config(const nlohmann::json& c) {
  return make_from_config<SoftmaxLayer>("Softmax", c, [](config::ConfigReader& r) -> Options {
    return {.axis = detail::read_axis_list(r, "axis", {-1})};
  });
}

Ref<SoftmaxLayer> Softmax(SoftmaxLayer::Options options, std::string name) {
  return std::make_shared<SoftmaxLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
