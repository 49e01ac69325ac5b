#pragma once
// How a differentiable op joins the tape. An op computes its output with core kernels, then:
//
//   return record("relu", y, {x}, [y](const Tensor& g) { return Grads{kernels::relu_backward(g, y)}; }, {y});
//
// record() attaches a Node when grad mode is on and some input requires a gradient; otherwise it
// returns the output untouched. `saved` lists the tensors backward reads, so an in-place change
// to one of them before backward is refused instead of giving a wrong gradient.
#include <initializer_list>
#include <vector>

#include "keel/autograd/node.h"

namespace keel {

using Grads = std::vector<Tensor>;

Tensor record(const char* name, Tensor output, std::initializer_list<Tensor> inputs, BackwardFn backward,
              std::initializer_list<Tensor> saved = {});
Tensor record(const char* name, Tensor output, const std::vector<Tensor>& inputs, BackwardFn backward,
              const std::vector<Tensor>& saved = {});

}  // namespace keel
