#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace keel {

// What fit returns: one value per epoch for every logged quantity ("loss", "accuracy", "val_loss", ...).
struct History {
  std::vector<std::int64_t> epoch;
  std::map<std::string, std::vector<double>> history;
};

// Per-epoch or per-batch logs handed to callbacks.
using Logs = std::map<std::string, double>;

// The best epoch, as CSVLogger and history_svg mark it: the lowest "val_loss" when the run has one,
// else the lowest "loss". best_epoch_monitor picks the key from the keys present.
const char* best_epoch_monitor(bool has_val_loss);
// True when `value` beats `best_so_far` (start from +∞): strictly lower, so NaN never does and the
// first of equal values stays the best.
bool is_new_best(double value, double best_so_far);
// The index of the best value (is_new_best over the sequence), none when no value is finite.
std::optional<std::size_t> best_index(const std::vector<double>& values);

}  // namespace keel
