#include "keel/core/storage.h"

#include <fmt/format.h>

#include <cstdlib>
#include <new>

#include "keel/core/error.h"

namespace keel {

Storage::Storage(std::size_t nbytes) : nbytes_(nbytes) {
  std::size_t padded = (nbytes + 63) / 64 * 64;
  data_ = std::aligned_alloc(64, padded == 0 ? 64 : padded);
  if (data_ == nullptr)
    throw ValueError(fmt::format("tensor: cannot allocate {} bytes", nbytes));
}

Storage::~Storage() { std::free(data_); }

}  // namespace keel
