#pragma once
#include <string>

#include "keel/core/dtype.h"

namespace keel::config {

// The dtype new layers compute in unless given one: "float32" (default) or "float64".
void set_floatx(const std::string& name);
std::string floatx();
DType floatx_dtype();

}  // namespace keel::config
