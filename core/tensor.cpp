#include "keel/core/tensor.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "keel/core/dispatch.h"
#include "keel/core/error.h"
#include "keel/core/kernels/detail/strided_loop.h"

namespace keel {
namespace {

void require_defined(const Tensor& t, const char* op) {
  if (!t.defined()) throw UsageError(fmt::format("{}: the tensor is undefined (default-constructed)", op));
}

template <class Dst, class Src>
void copy_rows(const Tensor& dst, const Tensor& src) {
  auto loop = kernels::detail::merge_axes<2>(dst.shape(), {dst.strides(), src.strides()});
  Dst* d = dst.data<Dst>();
  const Src* s = src.data<Src>();
  kernels::detail::for_each_row(loop, kernels::detail::kElementwiseGrain,
                                [&](const std::array<std::int64_t, 2>& off, std::int64_t n,
                                    const std::array<std::int64_t, 2>& st) {
                                  Dst* dp = d + off[0];
                                  const Src* sp = s + off[1];
                                  if (st[0] == 1 && st[1] == 1) {
                                    for (std::int64_t i = 0; i < n; ++i) dp[i] = static_cast<Dst>(sp[i]);
                                  } else {
                                    for (std::int64_t i = 0; i < n; ++i) dp[i * st[0]] = static_cast<Dst>(sp[i * st[1]]);
                                  }
                                });
}

}  // namespace

Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, std::int64_t offset, DType dtype)
    : storage_(std::move(storage)),
      shape_(std::move(shape)),
      strides_(std::move(strides)),
      offset_(offset),
      numel_(checked_numel(shape_)),
      dtype_(dtype) {}

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  std::int64_t n = checked_numel(shape, "tensor");
  std::size_t size = dtype_size(dtype);
  if (n > static_cast<std::int64_t>(SIZE_MAX / 2 / size))
    throw ShapeError(fmt::format("tensor: shape {} of {} needs more bytes than can be addressed", keel::to_string(shape),
                                 dtype_name(dtype)));
  auto storage = std::make_shared<Storage>(static_cast<std::size_t>(n) * size);
  return Tensor(std::move(storage), shape, contiguous_strides(shape), 0, dtype);
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) { return full(shape, 0.0, dtype); }
Tensor Tensor::ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill(value);
  return t;
}

Tensor Tensor::scalar(double value, DType dtype) { return full({}, value, dtype); }

Tensor Tensor::arange(double start, double stop, double step, DType dtype) {
  if (step == 0 || !std::isfinite(step) || !std::isfinite(start) || !std::isfinite(stop))
    throw ValueError(fmt::format("arange: start {}, stop {} and step {} must be finite, step non-zero", start, stop, step));
  double count = std::ceil((stop - start) / step);
  std::int64_t n = count > 0 ? static_cast<std::int64_t>(count) : 0;
  Tensor t = empty({n}, dtype);
  detail::dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
  return t;
}

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  if (static_cast<std::int64_t>(values.size()) != t.numel())
    throw ShapeError(fmt::format("from_vector: {} values do not fill shape {} ({} elements)", values.size(),
                                 keel::to_string(shape), t.numel()));
  detail::dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    std::transform(values.begin(), values.end(), t.data<T>(), [](double v) { return static_cast<T>(v); });
  });
  return t;
}

std::int64_t Tensor::size(std::int64_t axis) const { return shape_[normalize_axis(axis, dim(), "size")]; }

bool Tensor::is_contiguous() const {
  if (numel_ == 0) return true;  // nothing to address; the products below could also overflow
  std::int64_t expected = 1;
  for (std::size_t i = shape_.size(); i-- > 0;) {
    if (shape_[i] == 1) continue;
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

template <class T>
T* Tensor::data() const {
  require_defined(*this, "data");
  if (dtype_of<T>() != dtype_)
    throw ValueError(fmt::format("data: the tensor holds {}, not {}", dtype_name(dtype_), dtype_name(dtype_of<T>())));
  return static_cast<T*>(storage_->data()) + offset_;
}
template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;
template std::int64_t* Tensor::data<std::int64_t>() const;
template bool* Tensor::data<bool>() const;

void* Tensor::raw_data() const {
  require_defined(*this, "raw_data");
  return static_cast<char*>(storage_->data()) + offset_ * static_cast<std::int64_t>(dtype_size(dtype_));
}

double Tensor::item() const {
  if (numel_ != 1)
    throw ShapeError(fmt::format("item: needs a tensor with one element, got shape {}", keel::to_string(shape_)));
  return detail::dispatch_all(dtype_, [&](auto tag) { return static_cast<double>(*data<decltype(tag)>()); });
}

double Tensor::at(const Shape& index) const {
  if (index.size() != shape_.size())
    throw ShapeError(fmt::format("at: index {} has {} entries for a tensor of rank {}", keel::to_string(index),
                                 index.size(), dim()));
  std::int64_t off = 0;
  for (std::size_t i = 0; i < index.size(); ++i) {
    if (index[i] < 0 || index[i] >= shape_[i])
      throw IndexError(fmt::format("at: index {} is out of range for shape {} (axis {})", keel::to_string(index),
                                   keel::to_string(shape_), i));
    off += index[i] * strides_[i];
  }
  return detail::dispatch_all(dtype_, [&](auto tag) { return static_cast<double>(data<decltype(tag)>()[off]); });
}

std::vector<double> Tensor::to_vector() const {
  require_defined(*this, "to_vector");
  Tensor c = to(DType::float64);
  const double* p = c.data<double>();
  return std::vector<double>(p, p + c.numel());
}

Tensor Tensor::clone() const {
  require_defined(*this, "clone");
  Tensor out = empty(shape_, dtype_);
  out.copy_from(*this);
  return out;
}

Tensor Tensor::contiguous() const {
  require_defined(*this, "contiguous");
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::to(DType dtype) const {
  require_defined(*this, "to");
  if (dtype == dtype_ && is_contiguous()) return *this;
  Tensor out = empty(shape_, dtype);
  out.copy_from(*this);
  return out;
}

Tensor Tensor::view_as(Shape shape, Shape strides, std::int64_t offset) const {
  Tensor t(storage_, std::move(shape), std::move(strides), offset, dtype_);
  return t;
}

Tensor Tensor::reshape(const Shape& requested) const {
  require_defined(*this, "reshape");
  Shape shape = requested;
  int infer = -1;
  std::int64_t known = 1;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0)
        throw ShapeError(fmt::format("reshape: only one -1 is allowed, got {}", keel::to_string(requested)));
      infer = static_cast<int>(i);
    } else if (shape[i] < 0) {
      throw ShapeError(fmt::format("reshape: invalid dimension {} in {}", shape[i], keel::to_string(requested)));
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel_ % known != 0)
      throw ShapeError(fmt::format("reshape: cannot reshape {} ({} elements) into {}", keel::to_string(shape_), numel_,
                                   keel::to_string(requested)));
    shape[infer] = numel_ / known;
  }
  if (checked_numel(shape, "reshape") != numel_)
    throw ShapeError(fmt::format("reshape: cannot reshape {} ({} elements) into {} ({} elements)",
                                 keel::to_string(shape_), numel_, keel::to_string(requested), checked_numel(shape)));
  if (is_contiguous()) return view_as(shape, contiguous_strides(shape), offset_);
  return clone().reshape(shape);
}

Tensor Tensor::permute(const std::vector<std::int64_t>& dims) const {
  require_defined(*this, "permute");
  if (static_cast<std::int64_t>(dims.size()) != dim())
    throw ShapeError(fmt::format("permute: {} dims given for a tensor of rank {}", dims.size(), dim()));
  Shape shape(dims.size()), strides(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (std::size_t i = 0; i < dims.size(); ++i) {
    int a = normalize_axis(dims[i], dim(), "permute");
    if (seen[a]) throw ShapeError(fmt::format("permute: axis {} appears twice in {}", a, keel::to_string(dims)));
    seen[a] = true;
    shape[i] = shape_[a];
    strides[i] = strides_[a];
  }
  return view_as(shape, strides, offset_);
}

Tensor Tensor::transpose(std::int64_t a, std::int64_t b) const {
  std::vector<std::int64_t> dims(shape_.size());
  for (std::size_t i = 0; i < dims.size(); ++i) dims[i] = static_cast<std::int64_t>(i);
  std::swap(dims[normalize_axis(a, dim(), "transpose")], dims[normalize_axis(b, dim(), "transpose")]);
  return permute(dims);
}

Tensor Tensor::narrow(std::int64_t axis, std::int64_t start, std::int64_t length) const {
  int a = normalize_axis(axis, dim(), "narrow");
  if (start < 0 || length < 0 || start + length > shape_[a])
    throw IndexError(fmt::format("narrow: range [{}, {}) is outside axis {} of size {}", start, start + length, a,
                                 shape_[a]));
  Shape shape = shape_;
  shape[a] = length;
  return view_as(shape, strides_, offset_ + start * strides_[a]);
}

Tensor Tensor::slice(std::int64_t axis, std::int64_t start, std::int64_t stop, std::int64_t step) const {
  int a = normalize_axis(axis, dim(), "slice");
  if (step < 1) throw ValueError(fmt::format("slice: step must be >= 1, got {}", step));
  std::int64_t n = shape_[a];
  auto clamp = [n](std::int64_t i) { return std::clamp<std::int64_t>(i < 0 ? i + n : i, 0, n); };
  std::int64_t b = clamp(start), e = clamp(stop);
  std::int64_t len = e > b ? (e - b + step - 1) / step : 0;
  Shape shape = shape_, strides = strides_;
  shape[a] = len;
  strides[a] = strides_[a] * step;
  return view_as(shape, strides, offset_ + b * strides_[a]);
}

Tensor Tensor::expand(const Shape& target) const {
  require_defined(*this, "expand");
  if (target.size() < shape_.size())
    throw ShapeError(fmt::format("expand: cannot expand {} to the lower-rank shape {}", keel::to_string(shape_),
                                 keel::to_string(target)));
  std::size_t lead = target.size() - shape_.size();
  Shape strides(target.size(), 0);
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (i < lead) continue;
    std::int64_t d = shape_[i - lead];
    if (d == target[i]) {
      strides[i] = strides_[i - lead];
    } else if (d != 1) {
      throw ShapeError(fmt::format("expand: cannot expand {} to {} (axis {}: {} vs {})", keel::to_string(shape_),
                                   keel::to_string(target), i, d, target[i]));
    }
  }
  checked_numel(target, "expand");
  return view_as(target, strides, offset_);
}

Tensor Tensor::squeeze(std::int64_t axis) const {
  int a = normalize_axis(axis, dim(), "squeeze");
  if (shape_[a] != 1)
    throw ShapeError(fmt::format("squeeze: axis {} has size {}, not 1 (shape {})", a, shape_[a], keel::to_string(shape_)));
  Shape shape = shape_, strides = strides_;
  shape.erase(shape.begin() + a);
  strides.erase(strides.begin() + a);
  return view_as(shape, strides, offset_);
}

Tensor Tensor::unsqueeze(std::int64_t axis) const {
  int a = normalize_axis(axis, dim() + 1, "unsqueeze");
  Shape shape = shape_, strides = strides_;
  std::int64_t stride = a < dim() ? strides_[a] * shape_[a] : 1;
  shape.insert(shape.begin() + a, 1);
  strides.insert(strides.begin() + a, stride);
  return view_as(shape, strides, offset_);
}

void Tensor::copy_from(const Tensor& source) {
  require_defined(*this, "copy_from");
  require_defined(source, "copy_from");
  if (source.shape_ != shape_)
    throw ShapeError(fmt::format("copy_from: source shape {} differs from destination shape {}",
                                 keel::to_string(source.shape_), keel::to_string(shape_)));
  detail::dispatch_all(dtype_, [&](auto dst_tag) {
    detail::dispatch_all(source.dtype_, [&](auto src_tag) { copy_rows<decltype(dst_tag), decltype(src_tag)>(*this, source); });
  });
  storage_->bump_version();
}

void Tensor::fill(double value) {
  require_defined(*this, "fill");
  detail::dispatch_all(dtype_, [&](auto tag) {
    using T = decltype(tag);
    T v = static_cast<T>(value);
    auto loop = kernels::detail::merge_axes<1>(shape_, {strides_});
    T* p = data<T>();
    kernels::detail::for_each_row(loop, kernels::detail::kElementwiseGrain,
                                  [&](const std::array<std::int64_t, 1>& off, std::int64_t n,
                                      const std::array<std::int64_t, 1>& st) {
                                    for (std::int64_t i = 0; i < n; ++i) p[off[0] + i * st[0]] = v;
                                  });
  });
  storage_->bump_version();
}

std::string Tensor::to_string() const {
  if (!defined()) return "Tensor(undefined)";
  std::vector<double> v = to_vector();
  std::string body;
  std::size_t shown = std::min<std::size_t>(v.size(), 20);
  for (std::size_t i = 0; i < shown; ++i) body += (i ? ", " : "") + fmt::format("{:.6g}", v[i]);
  if (shown < v.size()) body += ", ...";
  return fmt::format("Tensor({}, shape={}, values=[{}])", dtype_name(dtype_), keel::to_string(shape_), body);
}

}  // namespace keel
