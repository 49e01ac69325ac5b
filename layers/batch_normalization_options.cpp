#include "keel/layers/batch_normalization_options.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "keel/core/error.h"

namespace keel::layers {
namespace {

void check_unit_interval(double value, const char* argument, const std::string& who) {
  if (!(value >= 0.0 && value <= 1.0))
    throw ValueError(fmt::format("{}: {} must be in [0, 1], got {}", who, argument, value));
}

void check_fused_combination(const BatchNormalizationOptions& o, const std::string& who) {
  if (o.fused != std::optional<bool>(true)) return;
  const char* failing = o.renorm                 ? "renorm=true"
                        : o.virtual_batch_size   ? "virtual_batch_size is set"
                        : o.adjustment           ? "adjustment is set"
                        : o.synchronized         ? "synchronized=true"
                        : o.axis.size() != 1     ? "axis is a list of several axes"
                                                 : nullptr;
  if (failing)
    throw ValueError(fmt::format("{}: fused=true cannot be used because {} (fused needs a single channel axis, no "
                                 "renorm, virtual batch, adjustment or synchronization)",
                                 who, failing));
}

}  // namespace

void validate_batch_norm_options(const BatchNormalizationOptions& o, const std::string& who) {
  if (o.axis.empty()) throw ValueError(fmt::format("{}: axis must name at least one axis, got []", who));
  for (std::size_t i = 0; i < o.axis.size(); ++i)
    for (std::size_t j = i + 1; j < o.axis.size(); ++j)
      if (o.axis[i] == o.axis[j])
        throw ValueError(fmt::format("{}: axis {} is repeated in axis={}", who, o.axis[i], o.axis));
  check_unit_interval(o.momentum, "momentum", who);
  check_unit_interval(o.renorm_momentum, "renorm_momentum", who);
  if (!(o.epsilon >= 0.0)) throw ValueError(fmt::format("{}: epsilon must be >= 0, got {}", who, o.epsilon));
  const RenormClipping& c = o.renorm_clipping;
  for (const auto& [key, value] : {std::pair{"rmax", c.rmax}, std::pair{"rmin", c.rmin}, std::pair{"dmax", c.dmax}})
    if (value && std::isnan(*value)) throw ValueError(fmt::format("{}: renorm_clipping {} is NaN", who, key));
  if (c.rmax && c.rmin && *c.rmax < *c.rmin)
    throw ValueError(fmt::format("{}: renorm_clipping rmax ({}) is less than rmin ({})", who, *c.rmax, *c.rmin));
  if (c.dmax && *c.dmax < 0) throw ValueError(fmt::format("{}: renorm_clipping dmax must be >= 0, got {}", who, *c.dmax));
  if (o.virtual_batch_size) {
    if (*o.virtual_batch_size <= 0)
      throw ValueError(fmt::format("{}: virtual_batch_size must be > 0, got {}", who, *o.virtual_batch_size));
    if (std::find(o.axis.begin(), o.axis.end(), 0) != o.axis.end())
      throw ValueError(fmt::format("{}: virtual_batch_size cannot be used with axis 0 (axis={})", who, o.axis));
    if (o.adjustment) throw ValueError(fmt::format("{}: virtual_batch_size cannot be used with adjustment", who));
  }
  check_fused_combination(o, who);
}

std::vector<std::int64_t> resolve_batch_norm_axes(const BatchNormalizationOptions& o, const Shape& input_shape,
                                                  const std::string& who) {
  const auto rank = static_cast<std::int64_t>(input_shape.size());
  if (rank < 2)
    throw ShapeError(fmt::format("{}: expected an input of rank >= 2 (a batch axis and a normalized axis), got shape {}",
                                 who, to_string(input_shape)));
  std::vector<std::int64_t> axes;
  for (std::int64_t a : o.axis) {
    if (a < -rank || a >= rank)
      throw ShapeError(fmt::format("{}: axis {} is out of range for an input of rank {} (shape {})", who, a, rank,
                                   to_string(input_shape)));
    std::int64_t n = a < 0 ? a + rank : a;
    if (std::find(axes.begin(), axes.end(), n) != axes.end())
      throw ValueError(fmt::format("{}: axis={} names axis {} twice for an input of rank {}", who, o.axis, n, rank));
    axes.push_back(n);
  }
  std::sort(axes.begin(), axes.end());
  if (static_cast<std::int64_t>(axes.size()) == rank)
    throw ShapeError(fmt::format("{}: axis={} leaves no axis to reduce over for an input of rank {}", who, o.axis, rank));
  if (o.virtual_batch_size && axes.front() == 0)
    throw ValueError(fmt::format("{}: virtual_batch_size cannot be used with axis 0 (axis={})", who, o.axis));
  if (o.fused == std::optional<bool>(true)) {
    if (rank != 4 && rank != 5)
      throw ValueError(fmt::format("{}: fused=true needs an input of rank 4 or 5, got shape {}", who,
                                   to_string(input_shape)));
    if (axes.front() != 1 && axes.front() != rank - 1)
      throw ValueError(fmt::format("{}: fused=true needs the channel axis to be 1 or {} for rank {}, got axis {}", who,
                                   rank - 1, rank, axes.front()));
  }
  return axes;
}

Shape batch_norm_param_shape(const Shape& input_shape, const std::vector<std::int64_t>& axes) {
  Shape s;
  for (std::int64_t a : axes) s.push_back(input_shape[static_cast<std::size_t>(a)]);
  return s;
}

}  // namespace keel::layers
