// The sequential dataset stages: sources, take, skip, repeat and cache (batch: batch_node.cpp).
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <utility>

#include "keel/core/error.h"
#include "keel/data/detail/dataset_node.h"

namespace keel::data::detail {
namespace {

// A stream over a function that yields the next element or nothing.
class FunctionStream : public ElementStream {
 public:
  explicit FunctionStream(std::function<std::optional<Element>()> next) : next_(std::move(next)) {}
  std::optional<Element> next() override { return next_(); }

 private:
  std::function<std::optional<Element>()> next_;
};

// A node whose passes are FunctionStreams made by `open`.
class FunctionNode : public DatasetNode {
 public:
  FunctionNode(std::function<std::function<std::optional<Element>()>()> open, std::int64_t cardinality)
      : open_(std::move(open)), cardinality_(cardinality) {}
  std::unique_ptr<ElementStream> open() const override { return std::make_unique<FunctionStream>(open_()); }
  std::int64_t cardinality() const override { return cardinality_; }

 private:
  std::function<std::function<std::optional<Element>()>()> open_;
  std::int64_t cardinality_;
};

NodePtr function_node(std::function<std::function<std::optional<Element>()>()> open, std::int64_t cardinality) {
  return std::make_shared<FunctionNode>(std::move(open), cardinality);
}

void check_tensors(const Element& tensors, const char* op) {
  if (tensors.empty()) throw ValueError(fmt::format("Dataset.{}: needs at least one tensor", op));
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].defined()) throw ValueError(fmt::format("Dataset.{}: tensor {} is undefined", op, i));
  }
}

bool finite(std::int64_t cardinality) { return cardinality >= 0; }

}  // namespace

NodePtr tensors_node(Element tensors) {
  check_tensors(tensors, "from_tensors");
  return function_node(
      [tensors] {
        return [tensors, done = false]() mutable -> std::optional<Element> {
          if (std::exchange(done, true)) return std::nullopt;
          return tensors;
        };
      },
      1);
}

NodePtr tensor_slices_node(Element tensors) {
  check_tensors(tensors, "from_tensor_slices");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].dim() == 0)
      throw ShapeError(fmt::format("Dataset.from_tensor_slices: tensor {} is a scalar; slicing needs rank >= 1", i));
    if (tensors[i].size(0) != tensors[0].size(0))
      throw ShapeError(fmt::format("Dataset.from_tensor_slices: tensor {} has {} rows ({}), tensor 0 has {} ({}); all "
                                   "need the same first dimension",
                                   i, tensors[i].size(0), to_string(tensors[i].shape()), tensors[0].size(0),
                                   to_string(tensors[0].shape())));
  }
  const std::int64_t n = tensors[0].size(0);
  return function_node(
      [tensors, n] {
        return [tensors, n, i = std::int64_t{0}]() mutable -> std::optional<Element> {
          if (i >= n) return std::nullopt;
          Element e;
          for (const Tensor& t : tensors) e.push_back(t.narrow(0, i, 1).squeeze(0));
          ++i;
          return e;
        };
      },
      n);
}

Element stack_elements(const std::vector<Element>& samples) {
  const Element& first = samples.front();
  for (std::size_t s = 1; s < samples.size(); ++s) {
    if (samples[s].size() != first.size())
      throw ShapeError(fmt::format("Dataset.batch: element {} of the batch has {} tensors, element 0 has {}", s,
                                   samples[s].size(), first.size()));
    for (std::size_t k = 0; k < first.size(); ++k) {
      const Tensor& t = samples[s][k];
      if (t.shape() != first[k].shape() || t.dtype() != first[k].dtype())
        throw ShapeError(fmt::format("Dataset.batch: tensor {} of element {} of the batch is {} {}, of element 0 {} {}; "
                                     "batched elements must match (resize or pad them in a map() first)",
                                     k, s, dtype_name(t.dtype()), to_string(t.shape()), dtype_name(first[k].dtype()),
                                     to_string(first[k].shape())));
    }
  }
  Element out;
  for (std::size_t k = 0; k < first.size(); ++k) {
    Shape shape = first[k].shape();
    shape.insert(shape.begin(), static_cast<std::int64_t>(samples.size()));
    Tensor stacked = Tensor::empty(shape, first[k].dtype());
    const std::size_t bytes = static_cast<std::size_t>(first[k].numel()) * dtype_size(first[k].dtype());
    auto* dst = static_cast<std::byte*>(stacked.raw_data());
    for (std::size_t s = 0; s < samples.size(); ++s) {
      if (bytes == 0) break;
      const Tensor sample = samples[s][k].contiguous();
      std::memcpy(dst + s * bytes, sample.raw_data(), bytes);
    }
    out.push_back(std::move(stacked));
  }
  return out;
}

NodePtr take_node(NodePtr input, std::int64_t count) {
  const std::int64_t n = input->cardinality();
  std::int64_t cardinality = n;
  if (count >= 0) cardinality = n == kInfiniteCardinality ? count : (finite(n) ? std::min(n, count) : kUnknownCardinality);
  return function_node(
      [input, count] {
        return [stream = std::shared_ptr<ElementStream>(input->open()), left = count]() mutable -> std::optional<Element> {
          if (left == 0) return std::nullopt;
          if (left > 0) --left;
          std::optional<Element> e = stream->next();
          if (!e) left = 0;
          return e;
        };
      },
      cardinality);
}

NodePtr skip_node(NodePtr input, std::int64_t count) {
  const std::int64_t n = input->cardinality();
  std::int64_t cardinality = n;
  if (count == -1) cardinality = 0;
  else if (finite(n)) cardinality = std::max<std::int64_t>(0, n - count);
  return function_node(
      [input, count] {
        return [stream = std::shared_ptr<ElementStream>(input->open()), count, skipped = false]() mutable
               -> std::optional<Element> {
          if (!std::exchange(skipped, true)) {
            for (std::int64_t i = 0; count == -1 || i < count; ++i) {
              if (!stream->next()) return std::nullopt;
            }
          }
          return stream->next();
        };
      },
      cardinality);
}

NodePtr repeat_node(NodePtr input, std::int64_t count) {
  const std::int64_t n = input->cardinality();
  std::int64_t cardinality = n * count;
  if (count == 0 || n == 0) cardinality = 0;
  else if (n == kUnknownCardinality) cardinality = kUnknownCardinality;
  else if (count == -1 || n == kInfiniteCardinality) cardinality = kInfiniteCardinality;
  return function_node(
      [input, count] {
        return [input, count, stream = std::shared_ptr<ElementStream>(), passes = std::int64_t{0},
                produced_in_pass = false, ended = false]() mutable -> std::optional<Element> {
          for (;;) {
            if (ended) return std::nullopt;
            if (!stream) {
              if (count != -1 && passes >= count) return std::nullopt;
              stream = input->open();
              ++passes;
              produced_in_pass = false;
            }
            if (std::optional<Element> e = stream->next()) {
              produced_in_pass = true;
              return e;
            }
            stream.reset();
            ended = !produced_in_pass;  // an empty pass: repeating it would never end
          }
        };
      },
      cardinality);
}

namespace {

struct CacheState {
  std::mutex mutex;
  bool complete = false;
  std::shared_ptr<const std::vector<Element>> elements;
};

}  // namespace

NodePtr cache_node(NodePtr input) {
  auto state = std::make_shared<CacheState>();
  return function_node(
      [input, state]() -> std::function<std::optional<Element>()> {
        std::shared_ptr<const std::vector<Element>> cached;
        {
          std::lock_guard lock(state->mutex);
          if (state->complete) cached = state->elements;
        }
        if (cached) {
          return [cached, i = std::size_t{0}]() mutable -> std::optional<Element> {
            if (i >= cached->size()) return std::nullopt;
            return (*cached)[i++];
          };
        }
        return [input, state, stream = std::shared_ptr<ElementStream>(input->open()),
                recorded = std::make_shared<std::vector<Element>>()]() mutable -> std::optional<Element> {
          if (!stream) return std::nullopt;
          std::optional<Element> e = stream->next();
          if (e) {
            recorded->push_back(*e);
            return e;
          }
          stream.reset();
          std::lock_guard lock(state->mutex);
          if (!state->complete) {
            state->elements = std::move(recorded);
            state->complete = true;
          }
          return std::nullopt;
        };
      },
      input->cardinality());
}

}  // namespace keel::data::detail
