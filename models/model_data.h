#pragma once
// Values given per model input or output, as Keras takes them: a list in the model's input (output)
// order, or a map keyed by the input (output) layers' names. ModelData is the x or y of fit, evaluate,
// predict and the *_on_batch calls; one tensor is the list of one.
#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/tensor.h"

namespace keel {

template <class T>
class ListOrMap {
 public:
  ListOrMap() = default;
  ListOrMap(std::initializer_list<T> list) : list_(list) {}
  ListOrMap(std::vector<T> list) : list_(std::move(list)) {}
  ListOrMap(std::initializer_list<std::pair<const std::string, T>> by_name) : by_name_(by_name), keyed_(true) {}
  ListOrMap(std::map<std::string, T> by_name) : by_name_(std::move(by_name)), keyed_(true) {}

  bool empty() const { return keyed_ ? by_name_.empty() : list_.empty(); }
  bool keyed() const { return keyed_; }

  // The values in `names` order. ValueError naming `what`, `argument` and the names: a list whose length
  // is not the number of names, or a key that is no name; with every_name, also a name without a key
  // (otherwise that name gets `missing`).
  std::vector<T> in_order(const std::vector<std::string>& names, std::string_view what, std::string_view argument,
                          bool every_name = true, const T& missing = T{}) const {
    const std::string listed = fmt::format("'{}'", fmt::join(names, "', '"));
    if (!keyed_) {
      if (list_.size() != names.size())
        throw ValueError(fmt::format("{}: {} has length {} but the model has {} ({})", what, argument, list_.size(),
                                     names.size(), listed));
      return list_;
    }
    for (const auto& entry : by_name_)
      if (std::find(names.begin(), names.end(), entry.first) == names.end())
        throw ValueError(fmt::format("{}: {} has the key '{}', which is none of the model's ({})", what, argument,
                                     entry.first, listed));
    std::vector<T> out;
    for (const auto& name : names) {
      auto it = by_name_.find(name);
      if (it == by_name_.end() && every_name)
        throw ValueError(fmt::format("{}: {} has no entry for '{}' (the model's are {})", what, argument, name, listed));
      out.push_back(it == by_name_.end() ? missing : it->second);
    }
    return out;
  }

 private:
  std::vector<T> list_;
  std::map<std::string, T> by_name_;
  bool keyed_ = false;
};

class ModelData : public ListOrMap<Tensor> {
 public:
  using ListOrMap<Tensor>::ListOrMap;
  ModelData() = default;
  ModelData(Tensor one) : ListOrMap<Tensor>(std::vector<Tensor>{std::move(one)}) {}
};

}  // namespace keel
