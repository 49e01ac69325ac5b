#pragma once
// Finite-difference gradient checking in float64 (PyTorch's defaults: eps 1e-6, atol 1e-5, rtol 1e-3).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "keel/core/tensor.h"

namespace keel {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
  std::uint64_t seed = 7;
  // Feed the function strided (non-contiguous) views holding the same values.
  bool noncontiguous = false;
};

struct GradcheckResult {
  bool ok = true;
  std::string message;  // the first mismatch, naming the input, the element and both values
};

// For a function f of float64 inputs, compares the gradient of <v, f(x)> (v a fixed random tensor
// of f's output shape) from one backward pass with central differences, element by element of
// every input. Also checks that backward is linear in its seed: a zero seed gives exactly zero
// gradients and a doubled seed doubles them.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace keel
