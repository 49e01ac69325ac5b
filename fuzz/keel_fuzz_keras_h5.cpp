// libFuzzer target for the Keras legacy HDF5 reader: load_model on an HDF5 file held in memory (libhdf5's
// core driver, no temporary file). Allowed outcomes: success or keel::IOError; any other exception or a
// sanitizer report crashes the fuzzer. Seeds: the real Keras files in ../shared/keras_files. libhdf5 reads
// each input in a child process (models/detail/hdf5_isolation.h), whose time limit is set below the
// fuzzer's per-input timeout, so libhdf5's own crashes and hangs come back as IOErrors.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

#include "keel/core/error.h"
#include "keel/models/detail/hdf5_isolation.h"
#include "keel/models/model.h"
#include "keel/models/saving.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  keel::io::hdf5::set_child_time_limit(std::chrono::seconds(2));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto file = std::span(reinterpret_cast<const std::byte*>(data), size);
  try {
    keel::load_model_from_bytes(file, "fuzz input");
  } catch (const keel::IOError&) {
  }
  return 0;
}
