#include "keel/layers/detail/resize_axis.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "keel/autograd/ops.h"

namespace keel::layers::detail {

Tensor resize_axis(const Tensor& x, std::int64_t axis, std::int64_t size, bool bilinear) {
  const std::int64_t in = x.shape()[static_cast<std::size_t>(axis)];
  if (size == in) return x;
  const double scale = static_cast<double>(in) / static_cast<double>(size);
  const auto clamp = [in](double i) { return static_cast<double>(std::clamp<std::int64_t>(static_cast<std::int64_t>(i), 0, in - 1)); };
  std::vector<double> below(static_cast<std::size_t>(size)), above(below.size()), weight(below.size());
  for (std::int64_t o = 0; o < size; ++o) {
    const auto k = static_cast<std::size_t>(o);
    if (!bilinear) {
      below[k] = clamp(std::floor((static_cast<double>(o) + 0.5) * scale));
      continue;
    }
    const double source = (static_cast<double>(o) + 0.5) * scale - 0.5;
    const double floor = std::floor(source);
    below[k] = clamp(floor);
    above[k] = clamp(floor + 1);
    weight[k] = source - floor;
  }
  const Tensor front = ops::transpose(x, 0, axis);  // the resized axis first, for take_rows
  const Tensor a = ops::take_rows(front, Tensor::from_vector(below, {size}, DType::int64));
  if (!bilinear) return ops::transpose(a, 0, axis);
  Shape weight_shape(front.shape().size(), 1);
  weight_shape[0] = size;
  const Tensor w = Tensor::from_vector(weight, weight_shape, x.dtype());
  const Tensor b = ops::take_rows(front, Tensor::from_vector(above, {size}, DType::int64));
  return ops::transpose(a * (1.0 - w) + b * w, 0, axis);
}

}  // namespace keel::layers::detail
