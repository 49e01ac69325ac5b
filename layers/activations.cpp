#include "keel/layers/activations.h"

#include <fmt/format.h>

#include <map>
#include <mutex>
#include <set>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"

namespace keel {
namespace {

using Fn = std::function<Tensor(const Tensor&)>;

std::mutex g_mutex;

std::map<std::string, Fn>& table() {
  static std::map<std::string, Fn> t = {
      {"linear", [](const Tensor& x) { return x; }},
      {"relu", [](const Tensor& x) { return ops::relu(x); }},
      {"relu6", [](const Tensor& x) { return ops::relu6(x); }},
      {"leaky_relu", [](const Tensor& x) { return ops::leaky_relu(x); }},
      {"elu", [](const Tensor& x) { return ops::elu(x); }},
      {"selu", [](const Tensor& x) { return ops::selu(x); }},
      {"gelu", [](const Tensor& x) { return ops::gelu(x); }},
      {"sigmoid", [](const Tensor& x) { return ops::sigmoid(x); }},
      {"hard_sigmoid", [](const Tensor& x) { return ops::hard_sigmoid(x); }},
      {"tanh", [](const Tensor& x) { return ops::tanh(x); }},
      {"softmax", [](const Tensor& x) { return ops::softmax(x); }},
      {"log_softmax", [](const Tensor& x) { return ops::log_softmax(x); }},
      {"softplus", [](const Tensor& x) { return ops::softplus(x); }},
      {"softsign", [](const Tensor& x) { return ops::softsign(x); }},
      {"swish", [](const Tensor& x) { return ops::swish(x); }},
      {"silu", [](const Tensor& x) { return ops::swish(x); }},
  };
  return t;
}

// Built-in names that register_activation has replaced.
std::set<std::string>& overridden() {
  static std::set<std::string> names;
  return names;
}

bool names_builtin_relu(const std::string& name) {
  std::lock_guard lock(g_mutex);
  return name == "relu" && !overridden().contains(name);
}

Fn lookup(const std::string& name) {
  std::lock_guard lock(g_mutex);
  auto it = table().find(name.empty() ? "linear" : name);
  if (it == table().end()) {
    std::string known;
    for (const auto& [n, _] : table()) known += (known.empty() ? "" : ", ") + n;
    throw ValueError(fmt::format("activation: unknown activation '{}' (known: {})", name, known));
  }
  return it->second;
}

}  // namespace

Activation::Activation() : Activation("linear") {}
Activation::Activation(const char* name) : Activation(std::string(name)) {}
Activation::Activation(const std::string& name)
    : name_(name.empty() ? "linear" : name), fn_(lookup(name)), builtin_relu_(names_builtin_relu(name_)) {}
Activation::Activation(std::string name, std::function<Tensor(const Tensor&)> fn)
    : name_(std::move(name)), fn_(std::move(fn)) {
  if (!fn_) throw ValueError(fmt::format("activation '{}': the function is empty", name_));
}

namespace activations {
void register_activation(const std::string& name, std::function<Tensor(const Tensor&)> fn) {
  if (!fn) throw ValueError(fmt::format("register_activation: the function for '{}' is empty", name));
  std::lock_guard lock(g_mutex);
  if (table().contains(name)) overridden().insert(name);
  table()[name] = std::move(fn);
}
}  // namespace activations

}  // namespace keel
