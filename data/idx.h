#pragma once
// Reader for IDX files, the format of MNIST and Fashion-MNIST: a 4-byte magic (0, 0, type code, rank),
// `rank` big-endian uint32 dimensions, then the values in row-major order. Only unsigned bytes (type 0x08)
// are read. Gzipped files are decompressed through zlib; plain files are read as they are.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace keel::data {

struct IdxArray {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> values;  // row-major, product(dims) bytes
};

// Reads one IDX file (gzipped or plain). Every problem is an IOError naming the path: missing file,
// bad magic, unsupported type code, rank 0 or above 4, a zero dimension, a header claiming more data
// than the file can hold (checked before anything is allocated), truncated data, trailing bytes, and
// corrupted gzip streams (zlib's message is included).
IdxArray read_idx(const std::filesystem::path& path);

struct IdxDataset {
  IdxArray images;  // [count, rows, cols]
  IdxArray labels;  // [count]
};

// Reads <dir>/<prefix>-images-idx3-ubyte and <dir>/<prefix>-labels-idx1-ubyte, each plain or with a
// ".gz" suffix (the plain file is preferred when both exist), and checks that the images are rank 3,
// the labels rank 1 and both hold the same number of samples. Label values are not checked.
IdxDataset read_idx_pair(const std::filesystem::path& dir, const std::string& prefix);

// $KEEL_DATA_DIR if set and non-empty, else /usr/share/datasets/fashion-mnist (Debian package
// dataset-fashion-mnist).
std::filesystem::path default_fashion_mnist_dir();

}  // namespace keel::data
