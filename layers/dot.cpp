#include "keel/layers/dot.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"

namespace keel::layers {
namespace {

// x / sqrt(max(Σx² over `axis`, 1e-7)).
Tensor l2_normalize(const Tensor& x, std::int64_t axis) {
  Tensor square_sum = ops::sum(ops::square(x), {axis}, true);
  return x / ops::sqrt(ops::maximum(square_sum, ops::scalar_like(square_sum, 1e-7)));
}

// x with `axis` moved last and the other non-batch axes flattened: [B, rest, K].
Tensor contracted_last(const Tensor& x, std::int64_t axis) {
  std::vector<std::int64_t> order{0};
  std::int64_t rest = 1;
  for (std::int64_t a = 1; a < x.dim(); ++a)
    if (a != axis) {
      order.push_back(a);
      rest *= x.shape()[a];
    }
  order.push_back(axis);
  return ops::reshape(ops::permute(x, order), {x.shape()[0], rest, x.shape()[axis]});
}

}  // namespace

DotLayer::DotLayer(Options options, std::string name) : Layer("Dot", std::move(name)), options_(std::move(options)) {
  if (options_.axes.axes.empty() || options_.axes.axes.size() > 2)
    throw ValueError(fmt::format("Dot '{}': axes must be one int or a pair of ints, got {} values", this->name(),
                                 options_.axes.axes.size()));
}

std::pair<std::int64_t, std::int64_t> DotLayer::resolve_axes(const std::vector<Shape>& shapes) const {
  if (shapes.size() != 2)
    throw ValueError(fmt::format("Dot '{}' should be called on a list of 2 inputs, got {}", name(), shapes.size()));
  const Shape& a = shapes[0];
  const Shape& b = shapes[1];
  const std::string both = fmt::format("{} and {}", to_string(a), to_string(b));
  if (a.size() < 2 || b.size() < 2)
    throw ValueError(fmt::format("Dot '{}': inputs need a batch axis and at least one more, got shapes {}", name(), both));
  if (a[0] != b[0])
    throw ValueError(fmt::format("Dot '{}': the inputs' batch sizes differ, shapes {}", name(), both));
  const auto& given = options_.axes.axes;
  auto resolve = [&](std::int64_t axis, std::size_t rank) {
    const auto r = static_cast<std::int64_t>(rank);
    const std::int64_t resolved = axis < 0 ? axis + r : axis;
    if (resolved < 1 || resolved >= r)
      throw ValueError(fmt::format("Dot '{}': axis {} is out of range for shapes {} (the batch axis cannot be contracted)",
                                   name(), axis, both));
    return resolved;
  };
  const std::int64_t first = resolve(given[0], a.size());
  const std::int64_t second = resolve(given.size() == 2 ? given[1] : given[0], b.size());
  if (a[first] != b[second])
    throw ValueError(fmt::format("Dot '{}': incompatible input shapes: axis values {} (at axis {}) != {} (at axis {}); "
                                 "full input shapes {}",
                                 name(), a[first], first, b[second], second, both));
  return {first, second};
}

void DotLayer::build_list(const std::vector<Shape>& input_shapes) { resolve_axes(input_shapes); }

Tensor DotLayer::call(const Tensor& x, const CallContext& ctx) { return call_list({x}, ctx); }

Tensor DotLayer::call_list(const std::vector<Tensor>& inputs, const CallContext&) {
  std::vector<Shape> shapes;
  for (const Tensor& x : inputs) shapes.push_back(x.shape());
  const auto [first, second] = resolve_axes(shapes);
  Tensor a = options_.normalize ? l2_normalize(inputs[0], first) : inputs[0];
  Tensor b = options_.normalize ? l2_normalize(inputs[1], second) : inputs[1];
  // [B, M, 1, K] * [B, 1, N, K] summed over K: [B, M, N].
  Tensor product = ops::sum(ops::unsqueeze(contracted_last(a, first), 2) * ops::unsqueeze(contracted_last(b, second), 1),
                            {-1});
  Shape out{shapes[0][0]};
  for (std::int64_t ax = 1; ax < a.dim(); ++ax)
    if (ax != first) out.push_back(shapes[0][ax]);
  for (std::int64_t ax = 1; ax < b.dim(); ++ax)
    if (ax != second) out.push_back(shapes[1][ax]);
  if (out.size() == 1) out.push_back(1);  // Keras keeps at least two axes
  return ops::reshape(product, out);
}

nlohmann::json DotLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  const auto& axes = options_.axes.axes;
  c["axes"] = axes.size() == 1 ? nlohmann::json(axes[0]) : nlohmann::json(axes);
  c["normalize"] = options_.normalize;
  return c;
}

std::shared_ptr<DotLayer> DotLayer::from_config(const nlohmann::json& c) {
  return make_from_config<DotLayer>("Dot", c, [](config::ConfigReader& r) -> Options {
    const nlohmann::json& axes = r.value("axes");
    Options o{.normalize = r.boolean("normalize", false)};
    if (axes.is_number_integer()) o.axes = DotAxes(config::integer_in(r, "axes", axes));
    else if (axes.is_array() && axes.size() == 2)
      o.axes = DotAxes(config::integer_in(r, "axes", axes[0]), config::integer_in(r, "axes", axes[1]));
    else r.fail("axes", "must be an int or a list of two ints", axes);
    return o;
  });
}

Ref<DotLayer> Dot(DotLayer::Options options, std::string name) {
  return std::make_shared<DotLayer>(std::move(options), std::move(name));
}

}  // namespace keel::layers
