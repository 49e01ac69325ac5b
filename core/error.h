#pragma once
// keel's exception types (docs/semantics.md §8). Messages name the op or layer, the argument and the values.
#include <stdexcept>
#include <string>

namespace keel {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Shapes, ranks, axes and broadcasting.
class ShapeError : public Error {
 public:
  using Error::Error;
};

// Bad argument values and combinations.
class ValueError : public Error {
 public:
  using Error::Error;
};

// Indices and labels out of range.
class IndexError : public Error {
 public:
  using Error::Error;
};

// Files: missing, truncated, corrupted, hostile, incompatible version.
class IOError : public Error {
 public:
  using Error::Error;
};

// Calls in the wrong order or state.
class UsageError : public Error {
 public:
  using Error::Error;
};

}  // namespace keel
