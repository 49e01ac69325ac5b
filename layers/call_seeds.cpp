#include "keel/layers/call_seeds.h"

#include "keel/core/random.h"

namespace keel::layers {

std::uint64_t CallSeeds::next() {
  if (!seed_) return random::next_seed();
  std::uint32_t words[4];
  random::Philox4x32::generate(*seed_, calls_++, tag_, words);
  return (std::uint64_t{words[1]} << 32) | words[0];
}

}  // namespace keel::layers
