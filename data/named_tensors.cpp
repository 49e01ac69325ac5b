#include "keel/data/named_tensors.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "keel/core/error.h"

namespace keel::data {

NamedTensors::NamedTensors(std::initializer_list<Entry> entries) {
  for (const auto& [name, tensor] : entries) add(name, tensor);
}

void NamedTensors::add(std::string name, Tensor tensor) {
  if (name.empty()) throw ValueError("NamedTensors::add: the name is empty");
  if (contains(name)) throw ValueError(fmt::format("NamedTensors::add: the name '{}' is already present", name));
  entries_.emplace_back(std::move(name), std::move(tensor));
}

const Tensor& NamedTensors::at(std::string_view name) const {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.first == name; });
  if (it == entries_.end())
    throw IndexError(fmt::format("NamedTensors::at: no tensor named '{}'; the names are ['{}']", name,
                                 fmt::join(names(), "', '")));
  return it->second;
}

bool NamedTensors::contains(std::string_view name) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.first == name; });
}

std::vector<std::string> NamedTensors::names() const {
  std::vector<std::string> out;
  for (const auto& entry : entries_) out.push_back(entry.first);
  return out;
}

}  // namespace keel::data
