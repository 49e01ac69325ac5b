#pragma once
// Real data sets as tensors: images as float32 in [0, 1], NHWC [N, 28, 28, 1]; labels as int64.
#include <filesystem>

#include "keel/core/tensor.h"
#include "keel/data/idx.h"

namespace keel::datasets {

struct Split {
  Tensor x;  // [N, 28, 28, 1] float32
  Tensor y;  // [N] int64
};

struct Dataset {
  Split train, test;
};

// Fashion-MNIST from Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), or `dir`,
// or $KEEL_DATA_DIR. IOError naming the folder and the package when it is missing.
Dataset fashion_mnist(const std::filesystem::path& dir = data::default_fashion_mnist_dir());
// The same reader for MNIST's files (train-* and t10k-* in `dir`).
Dataset mnist(const std::filesystem::path& dir);
// One IDX image/label pair as tensors.
Split load_idx_split(const std::filesystem::path& dir, const std::string& prefix);

}  // namespace keel::datasets
