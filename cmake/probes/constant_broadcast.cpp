// Runs in CMake's configure step (cmake/KeelFlags.cmake) with the build's optimization and -march=native.
// GCC 12.2 with AVX-512 turns a local array of equal values followed by zeros, once copied whole, into a
// broadcast of the first value: the trailing zeros are lost. It printed Shape{big, big, big, 0} as four
// bigs in tests/core/shape_test.cpp on a Zen 5. Exit status 0 means this compiler gets all five right.
#include <cstdint>
#include <cstring>

__attribute__((noinline)) void three_and_zero(std::int64_t* out) {
  std::int64_t a[4];
  const std::int64_t big = std::int64_t{1} << 32;
  a[0] = a[1] = a[2] = big;
  a[3] = 0;
  std::memcpy(out, a, sizeof a);
}

__attribute__((noinline)) void two_and_zeros(std::int64_t* out) {
  std::int64_t a[4] = {5, 5, 0, 0};
  std::memcpy(out, a, sizeof a);
}

__attribute__((noinline)) void seven_and_zero(std::int64_t* out) {
  std::int64_t a[8];
  for (int i = 0; i < 7; ++i) a[i] = 5;
  a[7] = 0;
  std::memcpy(out, a, sizeof a);
}

__attribute__((noinline)) void six_and_zeros(std::int32_t* out) {
  std::int32_t a[8];
  for (int i = 0; i < 6; ++i) a[i] = 5;
  a[6] = a[7] = 0;
  std::memcpy(out, a, sizeof a);
}

__attribute__((noinline)) void three_and_zero_32(std::int32_t* out) {
  std::int32_t a[4] = {5, 5, 5, 0};
  std::memcpy(out, a, sizeof a);
}

int main() {
  std::int64_t l[8];
  std::int32_t i[8];
  int wrong = 0;
  three_and_zero(l);
  wrong += l[3] != 0;
  two_and_zeros(l);
  wrong += l[2] != 0 || l[3] != 0;
  seven_and_zero(l);
  wrong += l[7] != 0;
  six_and_zeros(i);
  wrong += i[6] != 0 || i[7] != 0;
  three_and_zero_32(i);
  wrong += i[3] != 0;
  return wrong;
}
