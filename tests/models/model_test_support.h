#pragma once
// Helpers for the model API tests: weight snapshots compared bitwise, stdout capture, a layer that
// records what fit feeds it, and small data sets.
#include <cstring>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "keel/core/tensor.h"
#include "keel/layers/layer.h"
#include "keel/models/model.h"

namespace keel::test {

// The raw bytes of a tensor (bitwise comparisons).
inline std::string tensor_bytes(const Tensor& t) {
  Tensor c = t.contiguous();
  return {static_cast<const char*>(c.raw_data()), static_cast<std::size_t>(c.numel()) * dtype_size(c.dtype())};
}

// Every weight of a layer (moving statistics included), as bytes, in creation order.
inline std::vector<std::string> weight_bytes(const layers::Layer& layer) {
  std::vector<std::string> out;
  for (const Tensor& t : layer.get_weights()) out.push_back(tensor_bytes(t));
  return out;
}

// Redirects std::cout (where the progress bar and summary() write) while alive.
class CoutCapture {
 public:
  CoutCapture() : old_(std::cout.rdbuf(buffer_.rdbuf())) {}
  CoutCapture(const CoutCapture&) = delete;
  CoutCapture& operator=(const CoutCapture&) = delete;
  ~CoutCapture() { std::cout.rdbuf(old_); }
  std::string text() const { return buffer_.str(); }

 private:
  std::ostringstream buffer_;
  std::streambuf* old_;
};

// An identity layer that records the first feature of every sample it sees in training calls, one
// vector per call: which samples fit used, in which order and in which batches.
class BatchRecorder : public layers::Layer {
 public:
  BatchRecorder() : Layer("BatchRecorder", "") {}
  std::vector<std::vector<double>> batches;

 protected:
  Tensor call(const Tensor& x, const layers::CallContext& ctx) override {
    if (ctx.training) {
      std::vector<double> all = x.to_vector(), first;
      const std::int64_t features = x.numel() / x.shape()[0];
      for (std::size_t i = 0; i < all.size(); i += static_cast<std::size_t>(features)) first.push_back(all[i]);
      batches.push_back(first);
    }
    return x;
  }
};

// Samples whose only feature is their index 0..n-1, with targets 2·index (for the recorder).
inline std::pair<Tensor, Tensor> indexed_samples(std::int64_t n) {
  std::vector<double> x(static_cast<std::size_t>(n)), y(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) x[static_cast<std::size_t>(i)] = static_cast<double>(i), y[static_cast<std::size_t>(i)] = 2.0 * static_cast<double>(i);
  return {Tensor::from_vector(x, {n, 1}), Tensor::from_vector(y, {n, 1})};
}

// Two Gaussian blobs in 2-D (σ = 1) centred at ±(d, d), labels 0 / 1 as [n, 1] floats.
inline std::pair<Tensor, Tensor> two_gaussians(std::int64_t n, double d, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> x, y;
  for (std::int64_t i = 0; i < n; ++i) {
    const double label = static_cast<double>(i % 2), centre = label > 0 ? d : -d;
    x.push_back(centre + normal(rng));
    x.push_back(centre + normal(rng));
    y.push_back(label);
  }
  return {Tensor::from_vector(x, {n, 2}), Tensor::from_vector(y, {n, 1})};
}

}  // namespace keel::test
