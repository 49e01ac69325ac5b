#include "keel/core/kernels/detail/batch_norm_partition.h"

#include <fmt/format.h>

#include "keel/core/error.h"

namespace keel::kernels::bn_detail {

Partition make_partition(const char* op, const ChannelLayout& layout, std::int64_t elem_size) {
  std::int64_t width = 0, total = 0;
  if (layout.outer < 0 || layout.channels < 0 || layout.inner < 0 ||
      __builtin_mul_overflow(layout.channels, layout.inner, &width) ||
      __builtin_mul_overflow(width, layout.outer, &total) || __builtin_mul_overflow(total, elem_size, &total))
    throw ShapeError(
        fmt::format("{}: the layout [outer={}, channels={}, inner={}] must have sizes >= 0 and fit in "
                    "int64 bytes",
                    op, layout.outer, layout.channels, layout.inner));
  Partition p;
  p.layout = layout;
  if (total == 0) return p;
  if (layout.inner >= kPlaneMin) {
    p.planes = true;
    p.plane_count = layout.outer * layout.channels;
    p.segment = kBlockBytes / elem_size;
    p.chunk_planes = std::max<std::int64_t>(1, kChunkBytes / (layout.inner * elem_size));
    p.items = (p.plane_count + p.chunk_planes - 1) / p.chunk_planes;
  } else {
    p.width = width;
    p.tile = std::min(width, kTileBytes / elem_size);
    p.col_tiles = (width + p.tile - 1) / p.tile;
    if (p.col_tiles == 1) p.fold = std::max<std::int64_t>(1, kTileBytes / elem_size / width);
    p.period = p.fold * p.tile;
    p.block_rows = std::max<std::int64_t>(p.fold, kBlockBytes / (p.tile * elem_size) / p.fold * p.fold);
    p.chunk_rows = std::max(p.block_rows, kChunkBytes / (p.tile * elem_size) / p.block_rows * p.block_rows);
    p.row_chunks = (layout.outer + p.chunk_rows - 1) / p.chunk_rows;
    p.items = p.row_chunks * p.col_tiles;
  }
  return p;
}

void check_eps(const char* op, double eps) {
  if (!(eps >= 0)) throw ValueError(fmt::format("{}: epsilon must be >= 0, got {}", op, eps));
}

}  // namespace keel::kernels::bn_detail
