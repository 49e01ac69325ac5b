#include "keel/core/kernels/window_geometry.h"

#include <fmt/format.h>

#include <algorithm>

#include "keel/core/error.h"

namespace keel::kernels {

WindowExtent window_extent(std::string_view op, std::string_view dim, std::int64_t in, std::int64_t kernel,
                           std::int64_t stride, std::int64_t dilation, bool same_padding) {
  const std::int64_t effective = (kernel - 1) * dilation + 1;
  if (same_padding) {
    const std::int64_t out = (in + stride - 1) / stride;
    const std::int64_t pad_total = std::max<std::int64_t>((out - 1) * stride + effective - in, 0);
    return {out, pad_total / 2};
  }
  if (in < effective)
    throw ShapeError(fmt::format("{}: input {} {} is smaller than the effective kernel {} {} (kernel {}, dilation {}) "
                                 "with 'valid' padding",
                                 op, dim, in, dim, effective, kernel, dilation));
  return {(in - effective) / stride + 1, 0};
}

std::int64_t transposed_extent(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t dilation,
                               std::int64_t output_padding, bool same_padding) {
  const std::int64_t effective = (kernel - 1) * dilation + 1;
  if (!same_padding)
    return (in - 1) * stride + effective + (output_padding < 0 ? std::max(effective, stride) - effective : output_padding);
  return output_padding < 0 ? in * stride : (in - 1) * stride + effective % 2 + output_padding;
}

void require_at_least(std::string_view op, std::initializer_list<NamedValue> values, std::int64_t minimum,
                      bool is_input_size) {
  for (const NamedValue& v : values) {
    if (v.value >= minimum) continue;
    std::string message = fmt::format("{}: {} must be >= {}, got {}", op, v.name, minimum, v.value);
    if (is_input_size) throw ShapeError(message);
    throw ValueError(message);
  }
}

}  // namespace keel::kernels
