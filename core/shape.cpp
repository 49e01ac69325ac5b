#include "keel/core/shape.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <limits>

#include "keel/core/error.h"

namespace keel {

std::string to_string(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

std::int64_t checked_numel(const Shape& shape, const char* op) {
  bool empty = false;
  for (std::int64_t d : shape) {
    if (d < 0) throw ShapeError(fmt::format("{}: negative dimension in shape {}", op, to_string(shape)));
    empty = empty || d == 0;
  }
  if (empty) return 0;  // however large the other sizes, before or after the zero
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (n > std::numeric_limits<std::int64_t>::max() / d)
      throw ShapeError(fmt::format("{}: shape {} has more elements than int64 can count", op, to_string(shape)));
    n *= d;
  }
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  std::int64_t s = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    // Only a zero-element shape can overflow here (checked_numel bounds the others), and nothing in such a
    // tensor is ever addressed, so its outer strides may saturate.
    if (__builtin_mul_overflow(s, shape[i] == 0 ? 1 : shape[i], &s)) s = std::numeric_limits<std::int64_t>::max();
  }
  return strides;
}

int normalize_axis(std::int64_t axis, std::int64_t rank, const char* op) {
  if (axis < -rank || axis >= rank)
    throw ShapeError(fmt::format("{}: axis {} is out of range for a tensor of rank {}", op, axis, rank));
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    std::int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    std::int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      throw ShapeError(fmt::format("{}: shapes {} and {} cannot be broadcast (axis {}: {} vs {})", op,
                                   to_string(a), to_string(b), i, da, db));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace keel
