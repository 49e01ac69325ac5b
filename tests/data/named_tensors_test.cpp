#include "keel/data/named_tensors.h"

#include <catch2/catch.hpp>

#include "keel/core/error.h"
#include "support/throws.h"

using Catch::Matchers::Contains;
using keel::Tensor;
using keel::data::NamedTensors;

TEST_CASE("NamedTensors keeps insertion order and finds tensors by name", "[data][npz]") {
  NamedTensors arrays{{"zeta", Tensor::scalar(1)}, {"alpha", Tensor::scalar(2)}};
  arrays.add("mid", Tensor::scalar(3));
  CHECK(arrays.names() == std::vector<std::string>{"zeta", "alpha", "mid"});
  CHECK(arrays.size() == 3);
  CHECK(arrays.at("alpha").item() == 2);
  CHECK(arrays.contains("mid"));
  CHECK_FALSE(arrays.contains("beta"));
  KEEL_CHECK_THROWS(arrays.at("beta"), keel::IndexError, Contains("'beta'") && Contains("'zeta', 'alpha', 'mid'"));
  KEEL_CHECK_THROWS(arrays.add("alpha", Tensor::scalar(0)), keel::ValueError, Contains("'alpha' is already present"));
  KEEL_CHECK_THROWS(arrays.add("", Tensor::scalar(0)), keel::ValueError, Contains("empty"));
  CHECK(arrays.size() == 3);
}
