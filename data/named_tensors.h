#pragma once
// Tensors by name, in insertion order: what load_npz returns and save_npz writes.
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keel/core/tensor.h"

namespace keel::data {

class NamedTensors {
 public:
  using Entry = std::pair<std::string, Tensor>;

  NamedTensors() = default;
  NamedTensors(std::initializer_list<Entry> entries);

  // Appends; ValueError for an empty name or one already present.
  void add(std::string name, Tensor tensor);
  // IndexError naming `name` and the names present when it is absent.
  const Tensor& at(std::string_view name) const;
  bool contains(std::string_view name) const;
  std::vector<std::string> names() const;

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const { return entries_.end(); }

 private:
  std::vector<Entry> entries_;
};

}  // namespace keel::data
