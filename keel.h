#pragma once
// keel: Keras's semantics in C++, on a reverse-mode autograd engine. The one header users include.
#include "keel/core/dtype.h"
#include "keel/core/error.h"
#include "keel/core/parallel.h"
#include "keel/core/shape.h"
