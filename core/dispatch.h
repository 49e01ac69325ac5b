#pragma once
// Internal: runs a generic lambda with the C++ type matching a runtime DType.
#include <cstdint>

#include <fmt/format.h>

#include "keel/core/dtype.h"
#include "keel/core/error.h"

namespace keel::detail {

template <class Fn>
decltype(auto) dispatch_float(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case DType::float32: return fn(float{});
    case DType::float64: return fn(double{});
    default:
      throw ValueError(fmt::format("{}: expected a float32 or float64 tensor, got {}", op, dtype_name(dtype)));
  }
}

template <class Fn>
decltype(auto) dispatch_all(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::float32: return fn(float{});
    case DType::float64: return fn(double{});
    case DType::int64: return fn(std::int64_t{});
    case DType::boolean: return fn(bool{});
  }
  return fn(float{});
}

}  // namespace keel::detail
