#include "keel/core/moments.h"

namespace keel {

Moments combine_moments(const Moments& a, const Moments& b) {
  if (b.count == 0) return a;
  if (a.count == 0) return b;
  double n = a.count + b.count, delta = b.mean - a.mean;
  double m2 = a.m2 + b.m2 + delta * delta * (a.count * b.count / n);
  return {n, a.mean + delta * (b.count / n), m2 < 0 ? 0.0 : m2};
}

}  // namespace keel
