#pragma once
// The safetensors container (https://github.com/huggingface/safetensors), byte level:
//   8 bytes   N, the header length, unsigned little-endian
//   N bytes   a JSON object: tensor name -> {"dtype": "F32"|"F64"|"I64"|"BOOL", "shape": [d0, ...],
//             "data_offsets": [begin, end]}, plus an optional "__metadata__": {string: string};
//             padded with spaces so the data starts at a multiple of 8
//   the data  raw little-endian tensors, offsets relative to the data's start, tiled exactly
// keel writes tensors in the given order; the decoder refuses anything that is not exactly that shape of file.
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "keel/core/dtype.h"
#include "keel/core/shape.h"

namespace keel::io {

// A tensor to write: `nbytes` raw little-endian bytes at `data` (row-major), which must equal
// dtype_size(dtype) × numel(shape).
struct TensorView {
  std::string name;
  DType dtype;
  Shape shape;
  const void* data;
  std::size_t nbytes;
};

// A tensor read back: its own copy of the bytes.
struct TensorBytes {
  std::string name;
  DType dtype;
  Shape shape;
  std::vector<std::byte> bytes;

  bool operator==(const TensorBytes&) const = default;
};

struct SafetensorsContents {
  std::map<std::string, std::string> metadata;
  std::vector<TensorBytes> tensors;  // in storage order (ascending data offsets)

  bool operator==(const SafetensorsContents&) const = default;
};

// Headers longer than this are refused before anything is allocated (the safetensors reference limit).
inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

// "F32", "F64", "I64", "BOOL".
const char* safetensors_dtype_code(DType dtype);

// The file's bytes. "__metadata__" is written first and only when `metadata` is non-empty. ValueError
// (naming the tensor) on an empty, reserved ("__metadata__") or duplicate name, a name that is not UTF-8,
// a null `data` with nbytes > 0, or nbytes ≠ dtype × shape.
std::string encode_safetensors(const std::vector<TensorView>& tensors,
                               const std::map<std::string, std::string>& metadata);

// Validates the whole header before copying any tensor: the length field (at least 8 bytes present, N within
// the file and at most kMaxSafetensorsHeaderBytes), JSON syntax and schema (no duplicate or unknown keys,
// known dtype codes, non-negative integer dims and offsets, string metadata values), per tensor
// dtype × shape = end − begin without overflow, and exact tiling of the data (sorted by begin: starts at 0,
// no gap, no overlap, ends at the file's end). Every problem is an IOError whose message starts with
// `source` (normally the path) and says what is wrong: "truncated" for a cut-off file, the tensor's name
// and the numbers involved otherwise. A file whose length field is implausible and whose first bytes are
// those of another format (zip, HDF5, pickle, .npy, gzip: describe_foreign_file) is refused as "not a
// safetensors file", naming that format and the formats keel reads.
SafetensorsContents decode_safetensors(std::span<const std::byte> file, const std::string& source);

// How many bytes a whole file needs, judged from its first bytes `head`: the 8-byte length field, then
// the header, then the data up to the end of the last tensor the header declares. A reader that asks
// this as it goes never reads more than the header accounts for. When `head` already shows an unusable
// length field or header the answer is head.size(): decode_safetensors on those bytes says what is wrong.
std::uint64_t safetensors_bytes_needed(std::span<const std::byte> head);

// For `read`, the first bytes of a file of `file_size` bytes, read as far as safetensors_bytes_needed
// asked: the IOError decode_safetensors gives for the whole file when bytes were left unread (the
// header's own problem, or the count of trailing bytes after the last tensor); nothing otherwise.
void require_whole_file(std::span<const std::byte> read, std::uint64_t file_size, const std::string& source);

}  // namespace keel::io
