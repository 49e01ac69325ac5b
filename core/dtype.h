#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace keel {

enum class DType : std::uint8_t { float32, float64, int64, boolean };

std::size_t dtype_size(DType dtype);
// "float32", "float64", "int64", "bool".
const char* dtype_name(DType dtype);
// Inverse of dtype_name; throws ValueError for anything else.
DType dtype_from_name(std::string_view name);
bool is_floating(DType dtype);

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() { return DType::float32; }
template <>
constexpr DType dtype_of<double>() { return DType::float64; }
template <>
constexpr DType dtype_of<std::int64_t>() { return DType::int64; }
template <>
constexpr DType dtype_of<bool>() { return DType::boolean; }

}  // namespace keel
