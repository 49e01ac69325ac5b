#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "keel/models/history.h"

using namespace keel;

TEST_CASE("best_index: the first lowest finite value, NaN never wins, none without a finite value", "[history]") {
  const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
  CHECK(best_index({0.9, 0.4, 0.7, 0.4}) == std::optional<std::size_t>(1));
  CHECK(best_index({nan, 2.0, nan, 1.5}) == std::optional<std::size_t>(3));
  CHECK_FALSE(best_index({nan, inf, nan}).has_value());
  CHECK_FALSE(best_index({}).has_value());
  CHECK(is_new_best(1.0, inf));
  CHECK_FALSE(is_new_best(nan, inf));
  CHECK_FALSE(is_new_best(0.5, 0.5));
  CHECK(std::string(best_epoch_monitor(true)) == "val_loss");
  CHECK(std::string(best_epoch_monitor(false)) == "loss");
}
