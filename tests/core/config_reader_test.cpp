// The strict config reader every from_config uses: typed getters, defaults, leftover keys refused.
#include <catch2/catch.hpp>

#include "keel/core/config_reader.h"
#include "keel/core/error.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using keel::ValueError;
using keel::config::ConfigReader;

TEST_CASE("ConfigReader returns typed values and the fallbacks of missing keys", "[config]") {
  const nlohmann::json config = {{"units", 3},       {"rate", 0.5},       {"use_bias", false}, {"name", "d"},
                                 {"shape", {2, -1}}, {"seed", nullptr},   {"scale", 2}};
  ConfigReader r(config, "Dense");
  CHECK(r.integer("units", 0) == 3);
  CHECK(r.number("rate", 0.0) == 0.5);
  CHECK(r.number("scale", 0.0) == 2.0);  // an integer is a number
  CHECK_FALSE(r.boolean("use_bias", true));
  CHECK(r.string("name", "") == "d");
  CHECK(r.integers("shape", {}) == std::vector<std::int64_t>{2, -1});
  CHECK_FALSE(r.optional_integer("seed"));
  CHECK_FALSE(r.optional_number("absent"));
  CHECK(r.integer("missing", 7) == 7);
  CHECK(r.value("missing").is_null());
  CHECK_NOTHROW(r.finish());
}

TEST_CASE("ConfigReader refuses wrong types and non-integral integers naming the class and key", "[config]") {
  const nlohmann::json config = {{"filters", 3.5}, {"integral_float", 3.0}, {"text", "3"},    {"flag", 1},
                                 {"null_flag", nullptr}, {"huge", 18446744073709551615ull}, {"list", {1, 2.5}}};
  ConfigReader r(config, "Conv2D");
  KEEL_CHECK_THROWS(r.integer("filters", 0), ValueError,
                    Contains("Conv2D") && Contains("'filters'") && Contains("integer") && Contains("3.5"));
  CHECK_THROWS_AS(r.integer("integral_float", 0), ValueError);
  CHECK_THROWS_AS(r.integer("text", 0), ValueError);
  CHECK_THROWS_AS(r.number("text", 0), ValueError);
  KEEL_CHECK_THROWS(r.boolean("flag", false), ValueError, Contains("'flag'") && Contains("boolean"));
  CHECK_THROWS_AS(r.boolean("null_flag", false), ValueError);
  KEEL_CHECK_THROWS(r.integer("huge", 0), ValueError, Contains("'huge'") && Contains("range"));
  KEEL_CHECK_THROWS(r.integers("list", {}), ValueError, Contains("'list'") && Contains("2.5"));
  CHECK_THROWS_AS(r.string("flag", ""), ValueError);
  KEEL_CHECK_THROWS(ConfigReader(nlohmann::json::array(), "Dense"), ValueError, Contains("Dense") && Contains("object"));
}

TEST_CASE("ConfigReader::finish names every key no getter asked for", "[config]") {
  const nlohmann::json config = {{"units", 3}, {"unit", 4}, {"activaton", "relu"}, {"name", "n"}};
  ConfigReader r(config, "Dense");
  r.integer("units", 0);
  r.ignore("name");
  KEEL_CHECK_THROWS(r.finish(), ValueError,
                    Contains("Dense") && Contains("'unit'") && Contains("'activaton'") && Contains("units"));
}
