#pragma once
// New layers compute in `dtype` while a Floatx is alive.
#include <string>

#include "keel/core/config.h"
#include "keel/core/dtype.h"

namespace keel::test {

struct Floatx {
  explicit Floatx(DType dtype) : previous(config::floatx()) { config::set_floatx(dtype_name(dtype)); }
  ~Floatx() { config::set_floatx(previous); }
  std::string previous;
};

}  // namespace keel::test
