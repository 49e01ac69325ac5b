#pragma once
// Memory order of a batch of images: channels-last (Keras's default) or channels-first.

namespace keel::kernels {

enum class Layout { NHWC, NCHW };

}  // namespace keel::kernels
