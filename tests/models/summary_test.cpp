#include <catch2/catch.hpp>

#include <sstream>

#include "keel/layers/batch_normalization.h"
#include "keel/layers/dense.h"
#include "keel/layers/input.h"
#include "keel/models/sequential.h"

using namespace keel;

namespace {

// A row of Keras 3's table: 31, 22 and 13 columns of text, each padded by one space on both sides.
std::string row(const std::string& name, const std::string& shape, const std::string& params) {
  return "│ " + name + std::string(31 - name.size(), ' ') + " │ " + shape + std::string(22 - shape.size(), ' ') + " │ " +
         std::string(13 - params.size(), ' ') + params + " │\n";
}

std::string rule(const std::string& left, const std::string& mid, const std::string& right, const std::string& fill) {
  auto repeat = [&](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += fill;
    return s;
  };
  return left + repeat(33) + mid + repeat(24) + mid + repeat(15) + right + "\n";
}

}  // namespace

TEST_CASE("summary prints Keras 3's table with hand-counted parameters", "[model]") {
  // hidden: 3·4 + 4 = 16; norm: gamma, beta (trainable) + moving mean, variance = 4·4 = 16;
  // out: 4·2 + 2 = 10. Total 42 = 168 bytes; trainable 34 = 136 bytes; non-trainable 8 = 32 bytes.
  Sequential model({layers::Input({.shape = {3}}), layers::Dense({.units = 4}, "hidden"),
                    layers::BatchNormalization({}, "norm"), layers::Dense({.units = 2}, "out")},
                   "tiny");
  std::ostringstream out;
  model.summary(out);
  const std::string expected =
      "Model: \"tiny\"\n" + rule("┏", "┳", "┓", "━") +
      "┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃\n" + rule("┡", "╇", "┩", "━") +
      row("hidden (Dense)", "(None, 4)", "16") + rule("├", "┼", "┤", "─") +
      row("norm (BatchNormalization)", "(None, 4)", "16") + rule("├", "┼", "┤", "─") +
      row("out (Dense)", "(None, 2)", "10") + rule("└", "┴", "┘", "─") +
      " Total params: 42 (168.00 B)\n"
      " Trainable params: 34 (136.00 B)\n"
      " Non-trainable params: 8 (32.00 B)\n";
  CHECK(out.str() == expected);

  // Freezing moves the counts; thousands get commas.
  model.get_layer("hidden")->set_trainable(false);
  std::ostringstream frozen;
  model.summary(frozen);
  CHECK_THAT(frozen.str(), Catch::Matchers::Contains(" Trainable params: 18 (72.00 B)\n Non-trainable params: 24 (96.00 B)\n"));
  Sequential wide({layers::Input({.shape = {100}}), layers::Dense({.units = 30}, "wide")}, "wide_model");
  std::ostringstream big;
  wide.summary(big);
  CHECK_THAT(big.str(), Catch::Matchers::Contains(row("wide (Dense)", "(None, 30)", "3,030")));
  CHECK_THAT(big.str(), Catch::Matchers::Contains(" Total params: 3,030 (11.84 KB)\n"));
}

TEST_CASE("summary of an unbuilt model shows unknown shapes", "[model]") {
  Sequential model({layers::Dense({.units = 4}, "later")}, "unbuilt");
  std::ostringstream out;
  model.summary(out);
  CHECK_THAT(out.str(), Catch::Matchers::Contains(row("later (Dense)", "?", "0 (unbuilt)")));
  CHECK_THAT(out.str(), Catch::Matchers::Contains(" Total params: 0 (0.00 B)\n"));
}
