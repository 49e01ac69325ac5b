#include "keel/core/storage.h"

#include "keel/core/memory_pool.h"

namespace keel {

Storage::Storage(std::size_t nbytes) : data_(memory::allocate(nbytes)), nbytes_(nbytes) {}

Storage::~Storage() { memory::deallocate(data_, nbytes_); }

}  // namespace keel
