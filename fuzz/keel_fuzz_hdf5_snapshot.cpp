// libFuzzer target for the decoder of HDF5 snapshots (models/detail/hdf5_snapshot.h), the bytes a child
// process that read a file from outside sends back: they come from a process libhdf5 may have run astray in,
// so decode must take anything. Allowed outcomes: a snapshot or keel::IOError; any other exception or a
// sanitizer report crashes the fuzzer. Seeds: the snapshots of the real Keras files (keel_fuzz_seeds).
#include <cstddef>
#include <cstdint>
#include <span>

#include "keel/core/error.h"
#include "keel/models/detail/hdf5_snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    keel::io::hdf5::decode(std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz input");
  } catch (const keel::IOError&) {
  }
  return 0;
}
