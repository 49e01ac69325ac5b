// libFuzzer target for the Keras legacy HDF5 reader: load_model on an HDF5 file held in memory (libhdf5's
// core driver, no temporary file). Allowed outcomes: success or keel::IOError; any other exception or a
// sanitizer report crashes the fuzzer. Seeds: the real Keras files in ../shared/keras_files.
#include <cstddef>
#include <cstdint>
#include <span>

#include "keel/core/error.h"
#include "keel/models/model.h"
#include "keel/models/saving.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto file = std::span(reinterpret_cast<const std::byte*>(data), size);
  try {
    keel::load_model_from_bytes(file, "fuzz input");
  } catch (const keel::IOError&) {
  }
  return 0;
}
