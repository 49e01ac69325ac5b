#include "keel/core/config.h"

#include <fmt/format.h>

#include <atomic>

#include "keel/core/error.h"

namespace keel::config {
namespace {
std::atomic<DType> g_floatx{DType::float32};
}

void set_floatx(const std::string& name) {
  if (name != "float32" && name != "float64")
    throw ValueError(fmt::format("set_floatx: expected 'float32' or 'float64', got '{}'", name));
  g_floatx.store(dtype_from_name(name));
}

std::string floatx() { return dtype_name(g_floatx.load()); }
DType floatx_dtype() { return g_floatx.load(); }

}  // namespace keel::config
