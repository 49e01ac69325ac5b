#pragma once
// keel: Keras's semantics in C++, on a reverse-mode autograd engine. The one header users include.

// core/: tensors, kernels, threads, random numbers, errors.
#include "keel/core/config.h"
#include "keel/core/dtype.h"
#include "keel/core/error.h"
#include "keel/core/parallel.h"
#include "keel/core/random.h"
#include "keel/core/shape.h"
#include "keel/core/tensor.h"

// autograd/: the tape, differentiable ops, variables, gradient checking.
#include "keel/autograd/engine.h"
#include "keel/autograd/grad_mode.h"
#include "keel/autograd/gradcheck.h"
#include "keel/autograd/ops.h"
#include "keel/autograd/variable.h"

// data/
#include "keel/data/datasets.h"
#include "keel/data/in_memory.h"

// optim/: optimizers, learning-rate schedules, the optimizer registry.
#include "keel/optim/adagrad.h"
#include "keel/optim/adam.h"
#include "keel/optim/adamw.h"
#include "keel/optim/optimizer.h"
#include "keel/optim/registry.h"
#include "keel/optim/rmsprop.h"
#include "keel/optim/schedules.h"
#include "keel/optim/sgd.h"
