#include "keel/layers/layer.h"

#include <fmt/format.h>

#include <cctype>
#include <mutex>

#include "keel/autograd/autocast.h"
#include "keel/autograd/grad_mode.h"
#include "keel/autograd/ops.h"
#include "keel/core/config.h"
#include "keel/core/error.h"
#include "keel/core/profiler.h"
#include "keel/layers/weight_creation_check.h"

namespace keel::layers {

void StateUpdates::commit() {
  NoGrad no_grad;
  for (auto& [variable, value] : pending) variable.assign(value);
  pending.clear();
}

std::string snake_case(const std::string& class_name) {
  std::string out;
  for (std::size_t i = 0; i < class_name.size(); ++i) {
    char c = class_name[i];
    bool upper = std::isupper(static_cast<unsigned char>(c));
    // A new word starts at an upper-case letter after a lower-case one or a digit, or before a
    // lower-case letter that ends an acronym ("Conv2D" -> "conv2d", "GlobalAveragePooling2D" ->
    // "global_average_pooling2d").
    if (upper && i > 0) {
      char prev = class_name[i - 1];
      bool prev_lower = std::islower(static_cast<unsigned char>(prev));
      bool next_lower = i + 1 < class_name.size() && std::islower(static_cast<unsigned char>(class_name[i + 1]));
      bool prev_upper = std::isupper(static_cast<unsigned char>(prev));
      if (prev_lower || (prev_upper && next_lower)) out += '_';
    }
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string unique_name(const std::string& class_name) {
  static std::mutex mutex;
  static std::map<std::string, int> counters;
  std::string base = snake_case(class_name);
  std::lock_guard lock(mutex);
  int n = counters[base]++;
  return n == 0 ? base : fmt::format("{}_{}", base, n);
}

Layer::Layer(std::string class_name, std::string name)
    : class_name_(std::move(class_name)), policy_(mixed_precision::global_policy()) {
  if (name.find('/') != std::string::npos)
    throw ValueError(fmt::format("{}: the name '{}' contains '/', which is reserved for weight paths", class_name_, name));
  name_ = name.empty() ? unique_name(class_name_) : std::move(name);
}

void Layer::set_dtype(DType dtype) {
  if (!is_floating(dtype))
    throw ValueError(fmt::format("{} '{}': dtype must be float32 or float64, got {}", class_name_, name_, dtype_name(dtype)));
  set_dtype_policy(DTypePolicy(dtype));
}

void Layer::set_dtype_policy(const DTypePolicy& policy) {
  if (built_) throw UsageError(fmt::format("{} '{}': the dtype can only change before the layer is built", class_name_, name_));
  policy_ = policy;
}

bool Layer::rounds_to_bfloat16() const { return policy_.computes_in_bfloat16() && sublayers().empty(); }

void Layer::set_trainable(bool trainable) {
  trainable_ = trainable;
  for (const auto& inner : sublayers()) inner->set_trainable(trainable);
}

void Layer::build(const Shape&) {}

void Layer::build_from(const Shape& input_shape) {
  if (built_) return;
  build_or_undo([&] { build(input_shape); }, input_shape);
}

void Layer::build_from_list(const std::vector<Shape>& input_shapes) {
  if (built_) return;
  build_or_undo([&] { build_list(input_shapes); }, input_shapes.empty() ? Shape{} : input_shapes[0]);
}

void Layer::build_or_undo(const std::function<void()>& create, const Shape& recorded_input_shape) {
  const std::size_t weight_count = weights_.size();
  const InputSpec spec = input_spec_;
  try {
    create();
  } catch (...) {
    weights_.erase(weights_.begin() + static_cast<std::ptrdiff_t>(weight_count), weights_.end());
    input_spec_ = spec;
    throw;
  }
  built_input_shape_ = recorded_input_shape;
  built_ = true;
}

void Layer::check_input(const Tensor& x) const {
  const std::int64_t rank = x.dim();
  if (input_spec_.ndim && rank != *input_spec_.ndim)
    throw ShapeError(fmt::format("{} '{}': expected an input of rank {}, got shape {}", class_name_, name_,
                                 *input_spec_.ndim, to_string(x.shape())));
  if (input_spec_.min_ndim && rank < *input_spec_.min_ndim)
    throw ShapeError(fmt::format("{} '{}': expected an input of rank >= {}, got shape {}", class_name_, name_,
                                 *input_spec_.min_ndim, to_string(x.shape())));
  for (const auto& [axis, size] : input_spec_.axes) {
    std::int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank || x.shape()[a] != size)
      throw ShapeError(fmt::format("{} '{}': input shape {} does not fit the layer built for {} (axis {} must be {})",
                                   class_name_, name_, to_string(x.shape()), to_string(built_input_shape_), axis, size));
  }
}

namespace {

// How deep the current thread is in nested layer calls: a call at depth 0 is an outermost call.
thread_local int g_call_depth = 0;

// Keras's form: (None, 32, 32, 3).
std::string symbolic_shape_text(const Shape& shape) {
  std::string out;
  for (std::int64_t d : shape) out += (out.empty() ? "" : ", ") + (d == -1 ? std::string("None") : std::to_string(d));
  return "(" + out + ")";
}

std::string shapes_text(const std::vector<SymbolicTensor>& inputs) {
  std::string out;
  for (const auto& t : inputs) out += (out.empty() ? "" : " and ") + symbolic_shape_text(t.shape());
  return out;
}

}  // namespace

Tensor Layer::cast_input(const Tensor& x) const {
  if (!x.defined()) throw ValueError(fmt::format("{} '{}': the input tensor is undefined", class_name_, name_));
  if (!is_floating(x.dtype())) return x;
  const Tensor cast = x.dtype() != dtype() ? ops::cast(x, dtype()) : x;
  return rounds_to_bfloat16() ? ops::round_to_bfloat16(cast) : cast;
}

Tensor Layer::round_output(const Tensor& y) const {
  return rounds_to_bfloat16() && y.defined() && y.dtype() == DType::float32 ? ops::round_to_bfloat16(y) : y;
}

void Layer::record_activity(const Tensor& y, const CallContext& ctx) {
  // Only training calls touch layer state, so concurrent inference calls share nothing mutable.
  if (ctx.training && activity_regularizer_ && y.dim() > 0 && y.shape()[0] > 0)
    activity_losses_.push_back(activity_regularizer_(y) / static_cast<double>(y.shape()[0]));
}

void Layer::clear_activity_losses() {
  activity_losses_.clear();
  for (const auto& inner : sublayers()) inner->clear_activity_losses();
}

Layer::CallScope::CallScope(Layer& layer, const CallContext& ctx) {
  if (g_call_depth++ == 0 && ctx.training) layer.clear_activity_losses();
}

Layer::CallScope::~CallScope() { --g_call_depth; }

Tensor Layer::operator()(const Tensor& x_in, const CallContext& ctx) {
  CallScope scope(*this, ctx);
  Tensor x = cast_input(x_in);
  if (!built_) build_from(x.shape());
  check_input(x);
  Tensor y;
  {
    profile::Scope scope(class_name_, " forward");
    AutocastScope autocast(policy_.computes_in_bfloat16());
    y = round_output(call(x, ctx));
  }
  record_activity(y, ctx);
  return y;
}

Tensor Layer::operator()(const std::vector<Tensor>& inputs, const CallContext& ctx) {
  if (!takes_input_list()) {
    if (inputs.size() != 1)
      throw ValueError(fmt::format("{} '{}' takes one input, got a list of {}", class_name_, name_, inputs.size()));
    return (*this)(inputs[0], ctx);
  }
  CallScope scope(*this, ctx);
  std::vector<Tensor> xs;
  std::vector<Shape> shapes;
  for (const Tensor& x : inputs) {
    xs.push_back(cast_input(x));
    shapes.push_back(xs.back().shape());
  }
  build_from_list(shapes);
  Tensor y;
  {
    profile::Scope scope(class_name_, " forward");
    AutocastScope autocast(policy_.computes_in_bfloat16());
    y = round_output(call_list(xs, ctx));
  }
  record_activity(y, ctx);
  return y;
}

void Layer::build_list(const std::vector<Shape>&) {
  throw UsageError(fmt::format("{} '{}' takes one input, not a list", class_name_, name_));
}

Tensor Layer::call_list(const std::vector<Tensor>&, const CallContext&) {
  throw UsageError(fmt::format("{} '{}' takes one input, not a list", class_name_, name_));
}

SymbolicTensor Layer::operator()(const SymbolicTensor& x, const CallOptions& options) {
  return (*this)(std::vector<SymbolicTensor>{x}, options);
}

SymbolicTensor Layer::operator()(const std::vector<SymbolicTensor>& inputs, const CallOptions& options) {
  if (inputs.empty()) throw ValueError(fmt::format("{} '{}': called on an empty list of tensors", class_name_, name_));
  // With free sizes, the layer also runs on the probes (the free sizes doubled) and builds from the
  // symbolic shapes, so that a weight sized by a free axis is an error rather than the sample's size.
  std::vector<Tensor> samples, probes;
  std::vector<Shape> shapes;
  bool free = false;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined())
      throw ValueError(fmt::format("{} '{}': symbolic input {} is undefined", class_name_, name_, i));
    samples.push_back(inputs[i].sample());
    probes.push_back(inputs[i].probe().defined() ? inputs[i].probe() : inputs[i].sample());
    free = free || inputs[i].probe().defined();
    shapes.push_back(inputs[i].shape());
    if (!shapes.back().empty()) shapes.back()[0] = samples.back().shape()[0];
  }
  std::shared_ptr<Layer> self = weak_from_this().lock();
  if (!self)
    throw UsageError(fmt::format("{} '{}': a layer called on symbolic tensors must be held by a std::shared_ptr "
                                 "(make it with its factory, e.g. layers::Dense)",
                                 class_name_, name_));
  const bool one_input = samples.size() == 1 && !takes_input_list();
  auto run = [&](const std::vector<Tensor>& xs) {
    return one_input ? (*this)(xs[0], CallContext{}) : (*this)(xs, CallContext{});
  };
  Tensor sample, probe;
  bool tracing = false;
  // A run that fails on free sizes failed at their traced values: say which.
  auto context = [&](const char* what) {
    std::string text = fmt::format("{} '{}' cannot be called on {}: {}", class_name_, name_, shapes_text(inputs), what);
    if (free && tracing)
      text += fmt::format(" (free sizes are traced as {} and {})", SymbolicTensor::free_size_in_sample,
                          2 * SymbolicTensor::free_size_in_sample);
    return text;
  };
  // A layer this call built and whose call then failed is left unbuilt, as it was.
  const bool was_built = built_;
  const std::size_t weight_count = weights_.size();
  const InputSpec spec = input_spec_;
  auto unbuild = [&] {
    if (was_built) return;
    weights_.erase(weights_.begin() + static_cast<std::ptrdiff_t>(weight_count), weights_.end());
    input_spec_ = spec;
    built_input_shape_ = {};
    built_ = false;
  };
  try {
    NoGrad no_grad;
    if (free && one_input) build_from(shapes[0]);
    if (free && takes_input_list()) build_from_list(shapes);
    tracing = true;
    sample = run(samples);
    if (free) probe = run(probes);
  } catch (const ShapeError& e) {
    unbuild();
    throw ShapeError(context(e.what()));
  } catch (const ValueError& e) {
    unbuild();
    throw ValueError(context(e.what()));
  }
  auto node = std::make_shared<Node>(Node{self, inputs, options.training, {}});
  SymbolicTensor output = SymbolicTensor::produced_by(node, sample, probe);
  node->output_shape = output.shape();
  return output;
}

Tensor Layer::operator()(const Tensor& x, bool training) { return (*this)(x, CallContext{.training = training}); }

Variable Layer::add_weight(const std::string& name, const Shape& shape, const WeightOptions& options) {
  if (built_)
    throw UsageError(fmt::format("{} '{}': add_weight('{}') after the layer was built", class_name_, name_, name));
  if (!options.initializer)
    throw ValueError(fmt::format("{} '{}': weight '{}' has no initializer", class_name_, name_, name));
  for (std::int64_t d : shape)
    if (d < 0)
      throw ValueError(fmt::format("{} '{}': weight '{}' would have shape {}: a size it needs is one the input leaves "
                                   "free (None); that axis of the input must be defined",
                                   class_name_, name_, name, symbolic_shape_text(shape)));
  const DType dtype = this->dtype();
  check_weight_creation(*this, name, shape, dtype);
  Tensor value = initial_weight_values() == InitialValues::zeros ? Tensor::zeros(shape, dtype)
                                                                 : options.initializer(shape, dtype);
  if (value.shape() != shape)
    throw ShapeError(fmt::format("{} '{}': the initializer of '{}' returned shape {} for {}", class_name_, name_, name,
                                 to_string(value.shape()), to_string(shape)));
  RegularizerFn regularizer;
  if (options.regularizer) regularizer = [r = options.regularizer](const Tensor& w) { return r(w); };
  ConstraintFn constraint;
  if (options.constraint) constraint = [c = options.constraint](const Tensor& w) { return c(w); };
  Variable v(name_ + "/" + name, value.to(dtype), options.trainable, regularizer, constraint, options.autocast);
  weights_.push_back(v);
  return v;
}

void Layer::update_state(const CallContext& ctx, const Variable& variable, const Tensor& value) {
  if (ctx.staged) {
    ctx.staged->pending.emplace_back(variable, value);
  } else {
    NoGrad no_grad;
    variable.assign(value);
  }
}

std::vector<Variable> Layer::weights() const {
  std::vector<Variable> all = weights_;
  for (const auto& inner : sublayers()) {
    auto w = inner->weights();
    all.insert(all.end(), w.begin(), w.end());
  }
  return all;
}

std::vector<Variable> Layer::trainable_weights() const {
  if (!trainable_) return {};
  std::vector<Variable> out;
  for (const Variable& v : weights_)
    if (v.trainable()) out.push_back(v);
  for (const auto& inner : sublayers()) {
    auto w = inner->trainable_weights();
    out.insert(out.end(), w.begin(), w.end());
  }
  return out;
}

std::vector<Variable> Layer::non_trainable_weights() const {
  std::vector<Variable> trainable = trainable_weights(), out;
  for (const Variable& v : weights()) {
    bool is_trainable = false;
    for (const Variable& t : trainable) is_trainable = is_trainable || t.same_as(v);
    if (!is_trainable) out.push_back(v);
  }
  return out;
}

std::vector<Tensor> Layer::get_weights() const {
  std::vector<Tensor> out;
  for (const Variable& v : weights()) out.push_back(v.value().clone());
  return out;
}

void Layer::set_weights(const std::vector<Tensor>& values) {
  std::vector<Variable> ws = weights();
  if (values.size() != ws.size())
    throw ShapeError(fmt::format("{} '{}': set_weights got {} arrays for {} weights", class_name_, name_, values.size(),
                                 ws.size()));
  for (std::size_t i = 0; i < ws.size(); ++i)
    if (values[i].shape() != ws[i].shape())
      throw ShapeError(fmt::format("{} '{}': weight '{}' has shape {}, but set_weights got shape {}", class_name_, name_,
                                   ws[i].name(), to_string(ws[i].shape()), to_string(values[i].shape())));
  NoGrad no_grad;
  for (std::size_t i = 0; i < ws.size(); ++i) ws[i].assign(values[i]);
}

std::int64_t Layer::count_params() const {
  std::int64_t n = 0;
  for (const Variable& v : weights()) n += v.value().numel();
  return n;
}

std::vector<Tensor> Layer::losses() const {
  std::vector<Tensor> out;
  if (trainable_)
    for (const Variable& v : weights_)
      if (v.trainable() && v.regularizer()) out.push_back(v.regularizer()(v.value()));
  out.insert(out.end(), activity_losses_.begin(), activity_losses_.end());
  for (const auto& inner : sublayers()) {
    auto l = inner->losses();
    out.insert(out.end(), l.begin(), l.end());
  }
  return out;
}

Shape Layer::compute_output_shape(const Shape& input_shape) const { return input_shape; }

nlohmann::json Layer::get_config() const {
  return {{"name", name_}, {"trainable", trainable_}, {"dtype", policy_.name()}};
}

nlohmann::json Layer::serialize() const { return {{"class_name", class_name_}, {"config", get_config()}}; }

}  // namespace keel::layers
