#pragma once
// Tensor: a strided view of shared, 64-byte-aligned storage. Value semantics: copies share the
// storage (and the autograd slot); clone() copies the data. Methods here never record gradients;
// the differentiable ops live in keel/autograd/ops.h.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "keel/core/dtype.h"
#include "keel/core/shape.h"
#include "keel/core/storage.h"

namespace keel {

struct AutogradMeta;  // defined by autograd/; core only carries the slot.

class Tensor {
 public:
  Tensor() = default;

  // Factories. The dtype defaults to float32.
  static Tensor empty(const Shape& shape, DType dtype = DType::float32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::float32);
  static Tensor ones(const Shape& shape, DType dtype = DType::float32);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::float32);
  static Tensor scalar(double value, DType dtype = DType::float32);
  // start, start + step, ... up to (not including) stop.
  static Tensor arange(double start, double stop, double step = 1.0, DType dtype = DType::float32);
  // Values in row-major order; their count must match the shape. Converts to `dtype`
  // (labels: from_vector({3, 1, 4}, {3}, DType::int64)).
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype = DType::float32);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  std::int64_t offset() const { return offset_; }
  std::int64_t dim() const { return static_cast<std::int64_t>(shape_.size()); }
  std::int64_t numel() const { return numel_; }
  std::int64_t size(std::int64_t axis) const;
  bool is_contiguous() const;

  // Pointer to the first element; the dtype must match T (ValueError otherwise).
  template <class T>
  T* data() const;
  void* raw_data() const;

  // The single element of a one-element tensor, as double.
  double item() const;
  // The element at a multi-index, as double.
  double at(const Shape& index) const;
  // All elements in row-major logical order, converted to double.
  std::vector<double> to_vector() const;

  Tensor clone() const;
  Tensor contiguous() const;  // itself when already contiguous
  Tensor to(DType dtype) const;

  // Views (no copy). reshape copies only when the strides cannot express the new shape.
  Tensor reshape(const Shape& shape) const;  // one -1 allowed
  Tensor permute(const std::vector<std::int64_t>& dims) const;
  Tensor transpose(std::int64_t a, std::int64_t b) const;
  Tensor narrow(std::int64_t axis, std::int64_t start, std::int64_t length) const;
  Tensor slice(std::int64_t axis, std::int64_t start, std::int64_t stop, std::int64_t step = 1) const;
  Tensor expand(const Shape& shape) const;  // broadcast_to
  Tensor squeeze(std::int64_t axis) const;
  Tensor unsqueeze(std::int64_t axis) const;

  // In-place writes; each bumps the storage's version counter.
  void copy_from(const Tensor& source);  // same shape; dtypes converted
  void fill(double value);

  const std::shared_ptr<Storage>& storage() const { return storage_; }
  bool shares_storage_with(const Tensor& other) const { return storage_ && storage_ == other.storage_; }
  std::string to_string() const;

  const std::shared_ptr<AutogradMeta>& autograd_meta() const { return autograd_; }
  void set_autograd_meta(std::shared_ptr<AutogradMeta> meta) { autograd_ = std::move(meta); }

 private:
  Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, std::int64_t offset, DType dtype);
  Tensor view_as(Shape shape, Shape strides, std::int64_t offset) const;

  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Shape strides_;
  std::int64_t offset_ = 0;
  std::int64_t numel_ = 0;
  DType dtype_ = DType::float32;
  std::shared_ptr<AutogradMeta> autograd_;
};

}  // namespace keel
