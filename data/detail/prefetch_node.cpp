// Dataset.prefetch: a background thread runs the pipeline ahead of the consumer into a bounded queue.
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <utility>
#include <thread>

#include "keel/data/detail/dataset_node.h"

namespace keel::data::detail {
namespace {

class PrefetchStream : public ElementStream {
 public:
  PrefetchStream(std::unique_ptr<ElementStream> input, std::size_t capacity)
      : input_(std::move(input)), capacity_(capacity), worker_([this] { produce(); }) {}

  PrefetchStream(const PrefetchStream&) = delete;
  PrefetchStream& operator=(const PrefetchStream&) = delete;

  ~PrefetchStream() override {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    worker_.join();
  }

  std::optional<Element> next() override {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !queue_.empty() || done_; });
    if (queue_.empty()) {
      if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
      return std::nullopt;
    }
    Element e = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    changed_.notify_all();
    return e;
  }

 private:
  void produce() {
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return queue_.size() < capacity_ || stop_; });
        if (stop_) return;
      }
      std::optional<Element> e;
      std::exception_ptr error;
      try {
        e = input_->next();
      } catch (...) {
        error = std::current_exception();
      }
      {
        std::lock_guard lock(mutex_);
        if (e) queue_.push_back(std::move(*e));
        else {
          error_ = error;
          done_ = true;
        }
      }
      changed_.notify_all();
      if (!e) return;
    }
  }

  std::unique_ptr<ElementStream> input_;
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Element> queue_;
  bool done_ = false;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread worker_;  // last: it starts in the constructor and uses everything above
};

class PrefetchNode : public DatasetNode {
 public:
  PrefetchNode(NodePtr input, std::int64_t buffer_size) : input_(std::move(input)), buffer_size_(buffer_size) {}
  std::unique_ptr<ElementStream> open() const override { return ahead(input_->open()); }
  std::int64_t cardinality() const override { return input_->cardinality(); }
  std::unique_ptr<ElementStream> open_needed(const NeededPositions& needed) const override {
    return ahead(input_->open_needed(needed));
  }
  std::optional<BatchLayout> batch_layout() const override { return input_->batch_layout(); }
  std::unique_ptr<ElementStream> open_shard(int num_shards, int index) const override {
    return ahead(input_->open_shard(num_shards, index));
  }

 private:
  std::unique_ptr<ElementStream> ahead(std::unique_ptr<ElementStream> input) const {
    return std::make_unique<PrefetchStream>(std::move(input), static_cast<std::size_t>(buffer_size_));
  }

  NodePtr input_;
  std::int64_t buffer_size_;
};

}  // namespace

NodePtr prefetch_node(NodePtr input, std::int64_t buffer_size) {
  return std::make_shared<PrefetchNode>(std::move(input), buffer_size);
}

}  // namespace keel::data::detail
