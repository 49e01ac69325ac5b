// Dataset.shuffle: tf.data's buffered shuffle with a fixed, portable generator.
#include <atomic>
#include <random>
#include <vector>

#include "keel/data/detail/dataset_node.h"
#include "keel/data/detail/uniform_below.h"

namespace keel::data::detail {
namespace {

// SplitMix64's finalizer: spreads (seed, pass) over the generator's seed space.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class ShuffleStream : public ElementStream {
 public:
  ShuffleStream(std::unique_ptr<ElementStream> input, std::int64_t buffer_size, std::uint64_t seed)
      : input_(std::move(input)), buffer_size_(static_cast<std::size_t>(buffer_size)), rng_(seed) {}

  std::optional<Element> next() override {
    while (!input_done_ && buffer_.size() < buffer_size_) {
      std::optional<Element> e = input_->next();
      if (!e) {
        input_done_ = true;
        break;
      }
      buffer_.push_back(std::move(*e));
    }
    if (buffer_.empty()) return std::nullopt;
    const auto j = static_cast<std::size_t>(uniform_below(rng_, buffer_.size()));
    Element out = std::move(buffer_[j]);
    // The drawn slot takes the next input (on the next call, the buffer refills), else the last element.
    if (j + 1 != buffer_.size()) buffer_[j] = std::move(buffer_.back());
    buffer_.pop_back();
    return out;
  }

 private:
  std::unique_ptr<ElementStream> input_;
  std::size_t buffer_size_;
  std::mt19937_64 rng_;
  std::vector<Element> buffer_;
  bool input_done_ = false;
};

class ShuffleNode : public DatasetNode {
 public:
  ShuffleNode(NodePtr input, std::int64_t buffer_size, std::uint64_t seed, bool reshuffle)
      : input_(std::move(input)), buffer_size_(buffer_size), seed_(seed), reshuffle_(reshuffle) {}

  std::unique_ptr<ElementStream> open() const override {
    const std::uint64_t pass = reshuffle_ ? passes_.fetch_add(1) : 0;
    return std::make_unique<ShuffleStream>(input_->open(), buffer_size_, mix(seed_ ^ mix(pass)));
  }
  std::int64_t cardinality() const override { return input_->cardinality(); }

 private:
  NodePtr input_;
  std::int64_t buffer_size_;
  std::uint64_t seed_;
  bool reshuffle_;
  mutable std::atomic<std::uint64_t> passes_{0};
};

}  // namespace

NodePtr shuffle_node(NodePtr input, std::int64_t buffer_size, std::uint64_t seed, bool reshuffle_each_iteration) {
  return std::make_shared<ShuffleNode>(std::move(input), buffer_size, seed, reshuffle_each_iteration);
}

}  // namespace keel::data::detail
