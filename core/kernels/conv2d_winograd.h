#pragma once
// Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural
// Networks", 2016) for 3x3, stride-1 float32 NHWC convolutions with channel counts a whole number of
// register blocks. Each 2x2 block of outputs comes from a 4x4 block of inputs through 16 element-wise
// products instead of 36: the input tiles and the kernel are transformed (B^T d B, G g G^T), the 16
// transformed positions are 16 small GEMMs over the channels, and A^T m A gives the outputs. On
// conv2 of the reference convnet ([64, 13, 13, 32] -> 64) that is 151 MFLOP against 285 for im2col + GEMM.
//
// Both gradients run the forward's steps transposed, over the forward's tiles. With dm = A dy A^T, the
// gradient of a tile's 16 products: the input's gradient adds B (dm[e] U[e]^T) B^T into each tile's 4x4
// inputs, which overlap their neighbours' (fewer tiles than treating it as a "full" convolution of grad_y,
// whose output is larger by the kernel's size); the kernel's gradient is du[e] = sum over tiles of
// (B^T d B)[e] * dm[e], then G^T du G, with one partial sum per fixed chunk of images added in chunk order.
//
// Accuracy: the transforms multiply by 1 and 1/2 only, so no error grows with the tile; against a float64
// reference the outputs are as close as the GEMM path's (tests/core/kernels/conv2d_winograd_test.cpp).
// Every image is computed on its own, in a fixed order, so results are bitwise identical for any thread count.
#include "keel/core/kernels/conv2d.h"

namespace keel::kernels {

// NHWC, 3x3, strides and dilations 1, both channel counts multiples of the register block (16 floats with
// AVX2, 32 with AVX-512), and enough outputs that the 2x2 tiles save work (not for outputs of 3x3 or less).
bool conv2d_winograd_applicable(const Conv2dGeometry& g);

// Same contracts as conv2d_forward and conv2d_backward (conv2d.h).
void conv2d_forward_winograd(const Conv2dGeometry& g, const float* x, const float* kernel, const float* bias, float* y,
                             bool relu);
void conv2d_backward_winograd(const Conv2dGeometry& g, const float* x, const float* grad_y, const float* kernel,
                              float* grad_x, float* grad_kernel, float* grad_bias);

}  // namespace keel::kernels
