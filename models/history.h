#pragma once
#include <cstdint>
#include <map>
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

}  // namespace keel
