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
#include "keel/data/csv.h"
#include "keel/data/dataset.h"
#include "keel/data/datasets.h"
#include "keel/data/image_dataset.h"
#include "keel/data/in_memory.h"
#include "keel/data/named_tensors.h"
#include "keel/data/npy.h"
#include "keel/data/npz.h"

// optim/: optimizers, learning-rate schedules, the optimizer registry.
#include "keel/optim/adagrad.h"
#include "keel/optim/adam.h"
#include "keel/optim/adamw.h"
#include "keel/optim/optimizer.h"
#include "keel/optim/registry.h"
#include "keel/optim/rmsprop.h"
#include "keel/optim/schedules.h"
#include "keel/optim/sgd.h"

// layers/: the Layer base, its components, every layer, the registry.
#include "keel/layers/activation_layer.h"
#include "keel/layers/activations.h"
#include "keel/layers/batch_normalization.h"
#include "keel/layers/batch_normalization_functional.h"
#include "keel/layers/constraints.h"
#include "keel/layers/conv2d.h"
#include "keel/layers/dense.h"
#include "keel/layers/dropout.h"
#include "keel/layers/flatten.h"
#include "keel/layers/global_pooling2d.h"
#include "keel/layers/initializers.h"
#include "keel/layers/input.h"
#include "keel/layers/layer.h"
#include "keel/layers/pooling2d.h"
#include "keel/layers/random_flip.h"
#include "keel/layers/random_translation.h"
#include "keel/layers/registry.h"
#include "keel/layers/regularizers.h"
#include "keel/layers/rescaling.h"
#include "keel/layers/reshape.h"
#include "keel/layers/zero_padding2d.h"

// models/: Model, Sequential, losses, metrics, callbacks, save/load, plots.
#include "keel/models/callbacks.h"
#include "keel/models/dataset_fit.h"
#include "keel/models/history.h"
#include "keel/models/history_plot.h"
#include "keel/models/losses.h"
#include "keel/models/metrics.h"
#include "keel/models/model.h"
#include "keel/models/sequential.h"

// Distribution: the Strategy interface and its single-replica default (always), the MPI strategy when
// keel was built with MPI (KEEL_WITH_MPI).
#include "keel/core/strategy.h"
#ifdef KEEL_WITH_MPI
#include "keel/distribute/mpi_strategy.h"
#endif
