#pragma once
// One spatial dimension of a sliding window (convolution, pooling) under Keras/TF padding:
//   "valid": out = floor((in - eff) / s) + 1 with eff = (k - 1) * d + 1, no padding;
//   "same":  out = ceil(in / s), pad_total = max((out - 1) * s + eff - in, 0), pad_before = pad_total / 2
//            (the odd one goes after, as TF).
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace keel::kernels {

struct WindowExtent {
  std::int64_t out;
  std::int64_t pad_before;
};

// `op` and `dim` ("conv2d", "height") name the caller in the ShapeError thrown when a "valid" window is
// larger than the input. Sizes must already be validated as positive.
WindowExtent window_extent(std::string_view op, std::string_view dim, std::int64_t in, std::int64_t kernel,
                           std::int64_t stride, std::int64_t dilation, bool same_padding);

// The output length of a transposed convolution along one axis, Keras's rule (output_padding < 0: none):
//   "valid": (in - 1) * s + eff + (output_padding, or max(eff, s) - eff when none);
//   "same":  in * s when none, else (in - 1) * s + eff % 2 + output_padding.
std::int64_t transposed_extent(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t dilation,
                               std::int64_t output_padding, bool same_padding);

struct NamedValue {
  std::string_view name;
  std::int64_t value;
};
// Throws ShapeError (input sizes) or ValueError (op arguments) "op: name must be >= minimum, got value" for the
// first value below minimum.
void require_at_least(std::string_view op, std::initializer_list<NamedValue> values, std::int64_t minimum,
                      bool is_input_size);

// Indices j in [0, count) with 0 <= offset + j * step < limit, as [first, last); step >= 1.
struct IndexRange {
  std::int64_t first;
  std::int64_t last;
};
inline IndexRange in_bounds_range(std::int64_t offset, std::int64_t step, std::int64_t limit, std::int64_t count) {
  auto ceil_div = [step](std::int64_t a) {
    if (step == 1) return a;  // the common case, without a division
    return a <= 0 ? -((-a) / step) : (a + step - 1) / step;
  };
  std::int64_t first = offset >= 0 ? 0 : ceil_div(-offset);
  std::int64_t last = ceil_div(limit - offset);
  if (first > count) first = count;
  if (last > count) last = count;
  if (last < first) last = first;
  return {first, last};
}

}  // namespace keel::kernels
