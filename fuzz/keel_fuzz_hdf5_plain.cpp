// libFuzzer target for keel's plain HDF5 reader (models/detail/hdf5_plain_reader.h) alone, on arbitrary
// bytes: it must give a snapshot or decline (nullopt), and never read out of bounds, hang or throw.
// Seeds: the real Keras files in ../shared/keras_files. (keel_fuzz_keras_h5 runs it inside load_model,
// at the pace of the child process that reads what it declines; this target runs it alone, much faster.)
#include <cstddef>
#include <cstdint>
#include <span>

#include "keel/models/detail/hdf5_plain_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = std::span(reinterpret_cast<const std::byte*>(data), size);
  keel::io::hdf5::read_plain_snapshot(bytes, keel::io::hdf5::snapshot_limits(size, {}));
  return 0;
}
