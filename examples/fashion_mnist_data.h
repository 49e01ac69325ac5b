#pragma once
// Fashion-MNIST for the examples: the dataset from --data-dir, the first --subset training images, and
// the Rescaling layer that standardizes images with the training images' mean and standard deviation.
#include <cmath>
#include <cstdint>
#include <keel/keel.h>
#include <string>

// The dataset in `data_dir`; when it is empty, in $KEEL_DATA_DIR or /usr/share/datasets/fashion-mnist.
inline keel::datasets::Dataset load_fashion_mnist(const std::string& data_dir) {
  return data_dir.empty() ? keel::datasets::fashion_mnist() : keel::datasets::fashion_mnist(data_dir);
}

// The first `subset` images and labels of `split`; all of them when `subset` is 0 or not smaller.
inline keel::datasets::Split first_images(const keel::datasets::Split& split, std::int64_t subset) {
  if (subset <= 0 || subset >= split.x.shape()[0]) return split;
  return {split.x.narrow(0, 0, subset), split.y.narrow(0, 0, subset)};
}

// A Rescaling layer that gives `images` mean 0 and standard deviation 1.
inline auto standardization(const keel::Tensor& images) {
  const double mean = keel::ops::mean(images).item();
  const double stddev = std::sqrt(keel::ops::var(images).item());
  return keel::layers::Rescaling({.scale = 1.0 / stddev, .offset = -mean / stddev});
}
