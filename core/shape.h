#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace keel {

using Shape = std::vector<std::int64_t>;

// "[2, 3, 4]".
std::string to_string(const Shape& shape);
// Product of the dimensions; ShapeError (naming `op`) on a negative dimension or int64 overflow.
std::int64_t checked_numel(const Shape& shape, const char* op = "tensor");
// Row-major strides, in elements.
Shape contiguous_strides(const Shape& shape);
// Maps a possibly negative axis into [0, rank); ShapeError naming op, axis and rank otherwise.
int normalize_axis(std::int64_t axis, std::int64_t rank, const char* op);
// NumPy broadcasting of two shapes; ShapeError naming op, both shapes and the failing axis.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace keel
