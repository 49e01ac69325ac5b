// Dataset.map: the function runs on a window of consecutive elements at once, on oneTBB; the window's
// results are handed out in input order, so the output does not depend on the thread count.
#include <deque>
#include <exception>

#include "keel/core/parallel.h"
#include "keel/data/detail/dataset_node.h"

namespace keel::data::detail {
namespace {

class MapStream : public ElementStream {
 public:
  MapStream(std::unique_ptr<ElementStream> input, std::function<Element(Element)> fn, std::size_t window,
            NeededPositions needed)
      : input_(std::move(input)), fn_(std::move(fn)), window_(window), needed_(std::move(needed)) {}

  std::optional<Element> next() override {
    if (ready_.empty()) fill_window();
    if (ready_.empty()) return std::nullopt;
    Result r = std::move(ready_.front());
    ready_.pop_front();
    if (r.error) {
      ready_.clear();  // the pass ends at the first failure
      input_done_ = true;
      std::rethrow_exception(r.error);
    }
    return std::move(r.element);
  }

 private:
  struct Result {
    Element element;
    std::exception_ptr error;
    bool needed = true;
  };

  void fill_window() {
    std::vector<Result> results;
    while (!input_done_ && results.size() < window_) {
      std::optional<Element> e = input_->next();
      if (!e) {
        input_done_ = true;
        break;
      }
      // An element the consumer will not use is not mapped: it stays as read, in its place.
      const bool needed = !needed_ || needed_(position_);
      ++position_;
      results.push_back({std::move(*e), nullptr, needed});
    }
    parallel::for_each_chunk(0, static_cast<std::int64_t>(results.size()), 1, [&](std::int64_t, std::int64_t b, std::int64_t) {
      Result& r = results[static_cast<std::size_t>(b)];
      if (!r.needed) return;
      try {
        r.element = fn_(std::move(r.element));
      } catch (...) {
        r.error = std::current_exception();
      }
    });
    for (Result& r : results) ready_.push_back(std::move(r));
  }

  std::unique_ptr<ElementStream> input_;
  std::function<Element(Element)> fn_;
  std::size_t window_;
  NeededPositions needed_;
  std::int64_t position_ = 0;
  std::deque<Result> ready_;
  bool input_done_ = false;
};

class MapNode : public DatasetNode {
 public:
  MapNode(NodePtr input, std::function<Element(Element)> fn, int num_parallel_calls)
      : input_(std::move(input)), fn_(std::move(fn)), num_parallel_calls_(num_parallel_calls) {}

  std::unique_ptr<ElementStream> open() const override { return open_needed({}); }
  std::unique_ptr<ElementStream> open_needed(const NeededPositions& needed) const override {
    const int window = num_parallel_calls_ == kAutotune ? num_threads() : num_parallel_calls_;
    return std::make_unique<MapStream>(input_->open_needed(needed), fn_, static_cast<std::size_t>(window), needed);
  }
  std::int64_t cardinality() const override { return input_->cardinality(); }

 private:
  NodePtr input_;
  std::function<Element(Element)> fn_;
  int num_parallel_calls_;
};

}  // namespace

NodePtr map_node(NodePtr input, std::function<Element(Element)> fn, int num_parallel_calls) {
  return std::make_shared<MapNode>(std::move(input), std::move(fn), num_parallel_calls);
}

}  // namespace keel::data::detail
