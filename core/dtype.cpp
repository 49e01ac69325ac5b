#include "keel/core/dtype.h"

#include <fmt/format.h>

#include "keel/core/error.h"

namespace keel {

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::float32: return 4;
    case DType::float64: return 8;
    case DType::int64: return 8;
    case DType::boolean: return 1;
  }
  throw ValueError(fmt::format("dtype_size: unknown dtype code {}", static_cast<int>(dtype)));
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::float32: return "float32";
    case DType::float64: return "float64";
    case DType::int64: return "int64";
    case DType::boolean: return "bool";
  }
  return "unknown";
}

DType dtype_from_name(std::string_view name) {
  if (name == "float32") return DType::float32;
  if (name == "float64") return DType::float64;
  if (name == "int64") return DType::int64;
  if (name == "bool") return DType::boolean;
  throw ValueError(fmt::format("dtype: unknown dtype name '{}' (expected float32, float64, int64 or bool)", name));
}

bool is_floating(DType dtype) { return dtype == DType::float32 || dtype == DType::float64; }

}  // namespace keel
