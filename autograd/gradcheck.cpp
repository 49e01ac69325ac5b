#include "keel/autograd/gradcheck.h"

#include <fmt/format.h>

#include <cmath>

#include "keel/autograd/engine.h"
#include "keel/autograd/grad_mode.h"
#include "keel/core/error.h"
#include "keel/core/random.h"

namespace keel {
namespace {

// Element offset (in elements from data()) of the logical row-major index `flat`.
std::int64_t element_offset(const Tensor& t, std::int64_t flat) {
  std::int64_t off = 0;
  for (std::int64_t a = t.dim() - 1; a >= 0; --a) {
    off += (flat % t.shape()[a]) * t.strides()[a];
    flat /= t.shape()[a];
  }
  return off;
}

// A strided view with the values of x (every other element of a wider buffer).
Tensor strided_copy(const Tensor& x) {
  if (x.dim() == 0) return x.clone();
  Shape wide = x.shape();
  wide.back() *= 2;
  Tensor view = Tensor::zeros(wide, x.dtype()).slice(-1, 0, wide.back(), 2);
  view.copy_from(x);
  return view;
}

double dot(const Tensor& a, const Tensor& b) {
  std::vector<double> va = a.to_vector(), vb = b.to_vector();
  double s = 0;
  for (std::size_t i = 0; i < va.size(); ++i) s += va[i] * vb[i];
  return s;
}

}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
  std::vector<Tensor> xs;
  for (const Tensor& in : inputs) {
    if (in.dtype() != DType::float64)
      throw ValueError(fmt::format("gradcheck: inputs must be float64, got {}", dtype_name(in.dtype())));
    Tensor x = options.noncontiguous ? strided_copy(in) : in.clone();
    xs.push_back(set_requires_grad(x));
  }
  Tensor y = f(xs);
  if (!requires_grad(y)) return {false, "gradcheck: the output does not depend on any input through recorded ops"};
  Tensor v = random::normal(y.shape(), 0.0, 1.0, options.seed, DType::float64);
  std::vector<Tensor> analytical = gradients(y, xs, v, {.retain_graph = true});

  // Linearity in the seed.
  std::vector<double> vv = v.to_vector();
  for (double& e : vv) e *= 2;
  std::vector<Tensor> doubled = gradients(y, xs, Tensor::from_vector(vv, y.shape(), DType::float64), {.retain_graph = true});
  std::vector<Tensor> zeroed = gradients(y, xs, Tensor::zeros(y.shape(), DType::float64), {.retain_graph = true});
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (!analytical[i].defined()) continue;
    std::vector<double> a = analytical[i].to_vector(), d = doubled[i].to_vector(), z = zeroed[i].to_vector();
    for (std::size_t j = 0; j < a.size(); ++j) {
      if (z[j] != 0.0)
        return {false, fmt::format("gradcheck: input {} element {}: a zero seed gives gradient {}", i, j, z[j])};
      if (std::abs(d[j] - 2 * a[j]) > 1e-12 * (1 + std::abs(a[j])))
        return {false, fmt::format("gradcheck: input {} element {}: doubling the seed gives {} instead of 2 x {}", i, j,
                                   d[j], a[j])};
    }
  }

  NoGrad no_grad;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    Tensor& x = xs[i];
    std::vector<double> a = analytical[i].defined() ? analytical[i].to_vector() : std::vector<double>(x.numel(), 0.0);
    if (static_cast<std::int64_t>(a.size()) != x.numel())
      return {false, fmt::format("gradcheck: input {} has {} elements but its gradient has {}", i, x.numel(), a.size())};
    double* base = x.data<double>();
    for (std::int64_t j = 0; j < x.numel(); ++j) {
      double* p = base + element_offset(x, j);
      const double original = *p;
      *p = original + options.eps;
      double plus = dot(f(xs), v);
      *p = original - options.eps;
      double minus = dot(f(xs), v);
      *p = original;
      double numerical = (plus - minus) / (2 * options.eps);
      if (!(std::abs(a[j] - numerical) <= options.atol + options.rtol * std::abs(numerical)))
        return {false, fmt::format("gradcheck: input {} element {}: analytical {} vs numerical {}", i, j, a[j], numerical)};
    }
  }
  return {};
}

}  // namespace keel
