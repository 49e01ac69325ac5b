#include "keel/models/history.h"

#include <limits>

namespace keel {

const char* best_epoch_monitor(bool has_val_loss) { return has_val_loss ? "val_loss" : "loss"; }

bool is_new_best(double value, double best_so_far) { return value < best_so_far; }

std::optional<std::size_t> best_index(const std::vector<double>& values) {
  std::optional<std::size_t> best;
  double best_value = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!is_new_best(values[i], best_value)) continue;
    best = i;
    best_value = values[i];
  }
  return best;
}

}  // namespace keel
