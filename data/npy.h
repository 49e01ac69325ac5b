#pragma once
// NumPy's .npy format (format versions 1.0, 2.0 and 3.0): a magic string, a version, a header that is a
// Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...)} and the raw array data.
//
// Element types read: float32 ('f4') and float64 ('f8') keep their type; bool ('b1') becomes a bool tensor;
// every integer type that fits in int64 (int8/16/32/64 'i1'..'i8', uint8/16/32 'u1'..'u4') becomes an int64
// tensor, since int64 is keel's one integer dtype (the widening is exact). Both byte orders are read.
// Refused with an IOError naming the file and the type: float16, uint64 (values above 2^63 - 1 would not
// fit), complex, strings, objects and structured types. Written: keel's four dtypes as '<f4', '<f8', '<i8'
// and '|b1', C order, format version 1.0 (2.0 when the header needs more than 65535 bytes).
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "keel/core/tensor.h"

namespace keel::data {

// Reads a .npy file into a contiguous tensor (C order; a Fortran-order array is reordered). The header is
// validated before anything is allocated: a shape whose data the file cannot hold, trailing bytes, a bad
// magic, an unknown version or a malformed header is an IOError naming the file.
Tensor load_npy(const std::filesystem::path& path);

// Writes `array` as a .npy file, atomically (a temp file renamed over `path`). IOError naming the path.
void save_npy(const std::filesystem::path& path, const Tensor& array);

// The same format in memory; `source` names the bytes in error messages (a file, an npz entry).
Tensor decode_npy(std::span<const std::byte> bytes, std::string_view source);
std::string encode_npy(const Tensor& array);

}  // namespace keel::data
