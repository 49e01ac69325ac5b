#pragma once
// CHECK_THROWS_AS and CHECK_THROWS_WITH in one: the exception type and its message (Catch2 v2's
// CHECK_THROWS_MATCHES matches the exception object, not its what()). Evaluates `expr` twice.
#include <catch2/catch.hpp>

#define KEEL_CHECK_THROWS(expr, type, matcher) \
  do {                                         \
    CHECK_THROWS_AS(expr, type);               \
    CHECK_THROWS_WITH(expr, matcher);          \
  } while (false)
