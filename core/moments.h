#pragma once
// The moments of a group of values as count, mean and M2 (the sum of squared deviations from the mean),
// the form in which BatchNormalization's kernels merge blocks and replicas merge their statistics.
namespace keel {

struct Moments {
  double count = 0, mean = 0, m2 = 0;
};

// Chan's parallel combination of two groups (a first, then b); M2 is clamped at 0.
Moments combine_moments(const Moments& a, const Moments& b);

}  // namespace keel
