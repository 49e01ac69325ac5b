#pragma once
// Internal to core/kernels: walks K operands that share a logical shape (with their own element
// strides, 0 on broadcast axes) as a sequence of innermost rows. Adjacent axes that are contiguous
// in every operand are merged first, so a contiguous tensor is one long row, split into chunks
// for the thread pool. Chunking depends on the shape only (see parallel.h).
#include <array>
#include <cstdint>
#include <vector>

#include "keel/core/parallel.h"
#include "keel/core/shape.h"

namespace keel::kernels::detail {

// Elements per parallel chunk for cheap elementwise work.
constexpr std::int64_t kElementwiseGrain = 32768;

template <std::size_t K>
struct StridedLoop {
  Shape shape;                     // merged axes, innermost last; at least one axis
  std::array<Shape, K> strides;    // per operand, per merged axis
};

template <std::size_t K>
StridedLoop<K> merge_axes(const Shape& shape, const std::array<Shape, K>& strides) {
  StridedLoop<K> loop;
  for (std::size_t axis = 0; axis < shape.size(); ++axis) {
    if (shape[axis] == 1) continue;  // size-1 axes contribute nothing
    bool can_merge = !loop.shape.empty();
    for (std::size_t k = 0; k < K && can_merge; ++k)
      can_merge = loop.strides[k].back() == strides[k][axis] * shape[axis];
    if (can_merge) {
      loop.shape.back() *= shape[axis];
      for (std::size_t k = 0; k < K; ++k) loop.strides[k].back() = strides[k][axis];
    } else {
      loop.shape.push_back(shape[axis]);
      for (std::size_t k = 0; k < K; ++k) loop.strides[k].push_back(strides[k][axis]);
    }
  }
  if (loop.shape.empty()) {
    loop.shape.push_back(1);
    for (std::size_t k = 0; k < K; ++k) loop.strides[k].push_back(0);
  }
  return loop;
}

// Calls row(offsets, n, inner_strides) for every innermost row; offsets are element offsets of
// each operand's first element in the row. Rows are cut so no call exceeds `grain` elements.
template <std::size_t K, class RowFn>
void for_each_row(const StridedLoop<K>& loop, std::int64_t grain, RowFn&& row) {
  const std::size_t nd = loop.shape.size();
  const std::int64_t inner = loop.shape[nd - 1];
  std::array<std::int64_t, K> inner_strides;
  for (std::size_t k = 0; k < K; ++k) inner_strides[k] = loop.strides[k][nd - 1];
  std::int64_t outer = 1;
  for (std::size_t a = 0; a + 1 < nd; ++a) outer *= loop.shape[a];
  if (outer * inner == 0) return;

  // Pieces per row when rows are long; rows per task when they are short.
  const std::int64_t pieces = inner > grain ? (inner + grain - 1) / grain : 1;
  const std::int64_t piece_len = (inner + pieces - 1) / pieces;
  const std::int64_t rows_per_task = inner >= grain ? 1 : std::max<std::int64_t>(1, grain / inner);
  const std::int64_t tasks_total = outer * pieces;
  const std::int64_t task_grain = pieces > 1 ? 1 : rows_per_task;

  parallel::for_each_chunk(0, tasks_total, task_grain, [&](std::int64_t, std::int64_t t0, std::int64_t t1) {
    // Multi-index of the first row of this task, then advanced with a carry per row (no div/mod
    // per row: rows can be as short as a channel vector).
    std::array<std::int64_t, 8> index_small{};
    std::vector<std::int64_t> index_large;
    std::int64_t* index = nd - 1 <= index_small.size() ? index_small.data() : (index_large.resize(nd), index_large.data());
    std::array<std::int64_t, K> row_offsets{};
    std::int64_t rem = t0 / pieces;
    for (std::size_t a = nd - 1; a-- > 0;) {
      index[a] = rem % loop.shape[a];
      rem /= loop.shape[a];
      for (std::size_t k = 0; k < K; ++k) row_offsets[k] += index[a] * loop.strides[k][a];
    }
    for (std::int64_t t = t0; t < t1; ++t) {
      std::int64_t piece = t % pieces;
      std::int64_t begin = piece * piece_len;
      std::int64_t n = std::min(inner, begin + piece_len) - begin;
      std::array<std::int64_t, K> offsets;
      for (std::size_t k = 0; k < K; ++k) offsets[k] = row_offsets[k] + begin * inner_strides[k];
      row(offsets, n, inner_strides);
      if (piece + 1 < pieces) continue;
      for (std::size_t a = nd - 1; a-- > 0;) {  // next row
        for (std::size_t k = 0; k < K; ++k) row_offsets[k] += loop.strides[k][a];
        if (++index[a] < loop.shape[a]) break;
        for (std::size_t k = 0; k < K; ++k) row_offsets[k] -= loop.shape[a] * loop.strides[k][a];
        index[a] = 0;
      }
    }
  });
}

}  // namespace keel::kernels::detail
