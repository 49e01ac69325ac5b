#pragma once
// The resampling behind keel's image augmentation layers (RandomFlip, RandomTranslation): each
// image of an NHWC batch is read at source coordinates that are an affine function of the output
// coordinate along each axis, src = sign·out + offset (a flip is sign −1, offset size − 1; a
// translation by d is sign 1, offset −d). Coordinates between pixels are interpolated; taps that
// fall outside the image are filled as Keras 3's affine_transform does (per integer tap):
//   reflect  (d c b a | a b c d | d c b a)   wrap     (a b c d | a b c d | a b c d)
//   constant (k k k k | a b c d | k k k k)   nearest  (a a a a | a b c d | d d d d)
// The result is differentiable in the input (each output is a fixed weighted sum of inputs).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keel/core/tensor.h"

namespace keel::layers::image {

enum class FillMode { reflect, wrap, constant, nearest };
enum class Interpolation { bilinear, nearest };

// Keras's names ("reflect", "wrap", "constant", "nearest"; "bilinear", "nearest"); nullopt otherwise.
std::optional<FillMode> fill_mode_from_name(std::string_view name);
std::optional<Interpolation> interpolation_from_name(std::string_view name);

struct AxisMap {
  double sign = 1.0;
  double offset = 0.0;
};

// Where one image reads from: its rows (height axis) and columns (width axis).
struct ImageMap {
  AxisMap rows = {};
  AxisMap cols = {};
};

struct ResampleOptions {
  FillMode fill_mode = FillMode::reflect;
  Interpolation interpolation = Interpolation::bilinear;
  double fill_value = 0.0;  // for FillMode::constant
};

// x: float32/float64 [N, H, W, C]; one map per image. Returns a new [N, H, W, C] tensor.
Tensor resample(const Tensor& x, const std::vector<ImageMap>& maps, const ResampleOptions& options);

}  // namespace keel::layers::image
