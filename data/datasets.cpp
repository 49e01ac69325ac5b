#include "keel/data/datasets.h"

#include <fmt/format.h>

#include "keel/core/error.h"
#include "keel/core/parallel.h"

namespace keel::datasets {

Split load_idx_split(const std::filesystem::path& dir, const std::string& prefix) {
  data::IdxDataset raw = data::read_idx_pair(dir, prefix);
  const auto& d = raw.images.dims;
  const std::int64_t n = d[0], h = d[1], w = d[2];
  Tensor x = Tensor::empty({n, h, w, 1});
  float* px = x.data<float>();
  const std::uint8_t* src = raw.images.values.data();
  parallel::for_each_chunk(0, n * h * w, 1 << 16, [&](std::int64_t, std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) px[i] = static_cast<float>(src[i]) / 255.0f;
  });
  Tensor y = Tensor::empty({n}, DType::int64);
  std::int64_t* py = y.data<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) py[i] = raw.labels.values[i];
  return {x, y};
}

Dataset mnist(const std::filesystem::path& dir) { return {load_idx_split(dir, "train"), load_idx_split(dir, "t10k")}; }

Dataset fashion_mnist(const std::filesystem::path& dir) { return mnist(dir); }

}  // namespace keel::datasets
