#pragma once
// Resizing one axis of a tensor as tf.image.resize does (Keras's ops.image.resize on the TensorFlow
// backend): half-pixel centers, no antialiasing. Output index o of `size` reads the source coordinate
// (o + 0.5) · in / size − 0.5: "bilinear" weighs its two neighbours, clamped to the edges; "nearest"
// takes pixel floor((o + 0.5) · in / size). A gather and a weighted sum, differentiable in x, with
// memory proportional to the output.
#include <cstdint>

#include "keel/core/tensor.h"

namespace keel::layers::detail {

Tensor resize_axis(const Tensor& x, std::int64_t axis, std::int64_t size, bool bilinear);

}  // namespace keel::layers::detail
