#include "keel/layers/merging.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"

namespace keel::layers {
namespace {

std::string shapes_text(const std::vector<Shape>& shapes) {
  std::string out;
  for (const auto& s : shapes) out += (out.empty() ? "" : ", ") + to_string(s);
  return "[" + out + "]";
}

// A lower-rank input gains axes of size 1 after its batch axis (Keras's expand_dims at axis 1).
Tensor to_rank(const Tensor& x, std::int64_t rank) {
  Tensor y = x;
  while (y.dim() < rank) y = ops::unsqueeze(y, 1);
  return y;
}

}  // namespace

MergeLayer::MergeLayer(std::string class_name, std::string name) : Layer(std::move(class_name), std::move(name)) {}

void MergeLayer::check_count(std::size_t inputs) const {
  if (class_name() == "Subtract" && inputs != 2)
    throw ValueError(fmt::format("Subtract '{}' should be called on exactly 2 inputs, got {}", name(), inputs));
  if (inputs < 1)
    throw ValueError(fmt::format("{} '{}' should be called on a list of at least 1 input, got 0", class_name(), name()));
}

Shape MergeLayer::merged_shape(const std::vector<Shape>& shapes) const {
  check_count(shapes.size());
  for (const auto& s : shapes)
    if (s.empty())
      throw ValueError(fmt::format("{} '{}': inputs need a batch axis, got shapes {}", class_name(), name(), shapes_text(shapes)));
  Shape out = shapes[0];
  for (std::size_t i = 1; i < shapes.size(); ++i) {
    const Shape& s = shapes[i];
    if (s[0] != out[0])
      throw ValueError(fmt::format("{} '{}' cannot merge tensors with different batch sizes: shapes {}", class_name(),
                                   name(), shapes_text(shapes)));
    // Align the non-batch axes from the right.
    Shape a(out.begin() + 1, out.end()), b(s.begin() + 1, s.end());
    if (a.size() < b.size()) std::swap(a, b);
    Shape merged(a.begin(), a.end() - static_cast<std::ptrdiff_t>(b.size()));
    for (std::size_t k = 0; k < b.size(); ++k) {
      const std::int64_t x = a[a.size() - b.size() + k], y = b[k];
      if (x != y && x != 1 && y != 1)
        throw ValueError(fmt::format("{} '{}': inputs have incompatible shapes {} (sizes {} and {} do not broadcast)",
                                     class_name(), name(), shapes_text(shapes), x, y));
      merged.push_back(x == 1 ? y : x);
    }
    out = Shape{out[0]};
    out.insert(out.end(), merged.begin(), merged.end());
  }
  return out;
}

void MergeLayer::build_list(const std::vector<Shape>& input_shapes) { merged_shape(input_shapes); }

Tensor MergeLayer::call(const Tensor& x, const CallContext& ctx) { return call_list({x}, ctx); }

Tensor MergeLayer::call_list(const std::vector<Tensor>& inputs, const CallContext&) {
  std::vector<Shape> shapes;
  std::int64_t rank = 0;
  for (const Tensor& x : inputs) {
    shapes.push_back(x.shape());
    rank = std::max(rank, x.dim());
  }
  merged_shape(shapes);
  std::vector<Tensor> same_rank;
  for (const Tensor& x : inputs) same_rank.push_back(to_rank(x, rank));
  return merge(same_rank);
}

// The constructor, from_config and factory of merge layer `Name`.
#define KEEL_MERGE_LAYER_BASICS(Name)                                                                         \
  Name##Layer::Name##Layer(Options, std::string name) : MergeLayer(#Name, std::move(name)) {}                 \
  std::shared_ptr<Name##Layer> Name##Layer::from_config(const nlohmann::json& c) {                            \
    return make_from_config<Name##Layer>(#Name, c, [](config::ConfigReader&) { return MergeLayer::Options{}; }); \
  }                                                                                                           \
  Ref<Name##Layer> Name(MergeLayer::Options options, std::string name) {                                      \
    return std::make_shared<Name##Layer>(options, std::move(name));                                           \
  }

KEEL_MERGE_LAYER_BASICS(Add)
KEEL_MERGE_LAYER_BASICS(Subtract)
KEEL_MERGE_LAYER_BASICS(Multiply)
KEEL_MERGE_LAYER_BASICS(Average)
KEEL_MERGE_LAYER_BASICS(Maximum)
KEEL_MERGE_LAYER_BASICS(Minimum)
#undef KEEL_MERGE_LAYER_BASICS

Tensor AddLayer::merge(const std::vector<Tensor>& xs) const {
  Tensor out = xs[0];
  for (std::size_t i = 1; i < xs.size(); ++i) out = out + xs[i];
  return out;
}

Tensor SubtractLayer::merge(const std::vector<Tensor>& xs) const { return xs[0] - xs[1]; }

Tensor MultiplyLayer::merge(const std::vector<Tensor>& xs) const {
  Tensor out = xs[0];
  for (std::size_t i = 1; i < xs.size(); ++i) out = out * xs[i];
  return out;
}

Tensor AverageLayer::merge(const std::vector<Tensor>& xs) const {
  Tensor out = xs[0];
  for (std::size_t i = 1; i < xs.size(); ++i) out = out + xs[i];
  return out / static_cast<double>(xs.size());
}

Tensor MaximumLayer::merge(const std::vector<Tensor>& xs) const {
  Tensor out = xs[0];
  for (std::size_t i = 1; i < xs.size(); ++i) out = ops::maximum(out, xs[i]);
  return out;
}

Tensor MinimumLayer::merge(const std::vector<Tensor>& xs) const {
  Tensor out = xs[0];
  for (std::size_t i = 1; i < xs.size(); ++i) out = ops::minimum(out, xs[i]);
  return out;
}

}  // namespace keel::layers
