#pragma once
// The seeds a random layer (Dropout, RandomFlip, RandomTranslation) draws for its successive
// training calls. A seeded layer gives a reproducible sequence (call k: Philox(seed, k, tag)); an
// unseeded one takes a fresh seed from keel's global stream on every call.
#include <cstdint>
#include <optional>

namespace keel::layers {

class CallSeeds {
 public:
  // `tag` keeps layers of different classes with the same seed from drawing the same numbers.
  CallSeeds(std::optional<std::uint64_t> seed, std::uint32_t tag) : seed_(seed), tag_(tag) {}
  std::uint64_t next();

 private:
  std::optional<std::uint64_t> seed_;
  std::uint32_t tag_;
  std::uint64_t calls_ = 0;
};

}  // namespace keel::layers
