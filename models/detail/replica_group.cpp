// One step of fit, evaluate or predict spread over the replicas of a strategy, and the start of a
// distributed fit (replicas agree on the model and data, then start from rank 0's weights and random stream).
#include "keel/models/detail/replica_group.h"

#include <fmt/format.h>

#include <cstring>
#include <string>

#include "keel/core/error.h"
#include "keel/core/random.h"
#include "keel/layers/batch_normalization.h"
#include "keel/models/detail/crc32.h"
#include "keel/models/detail/batch_rows.h"
#include "keel/models/saving.h"

namespace keel::models::detail {
namespace {

// CRC-32 of every weight's structural path, dtype, shape and trainable flag.
double model_fingerprint(const Model& model) {
  std::string text;
  for (const auto& [path, v] : structural_weights(model)) {
    text += fmt::format("{}:{}:{}:{};", path, dtype_name(v.dtype()), to_string(v.shape()), v.trainable() ? 1 : 0);
  }
  return static_cast<double>(io::crc32(std::as_bytes(std::span<const char>(text.data(), text.size()))));
}

// What every replica must agree on before the first collective of fit.
struct ReplicaPlan {
  static constexpr std::size_t fields = 8;
  static std::string describe(const double* f) {
    return fmt::format("model fingerprint {:08x} over {} weights, {} training and {} validation samples, batch_size {}, "
                       "epochs {}..{}, shuffle {}",
                       static_cast<std::uint32_t>(f[0]), f[1], f[2], f[3], f[4], f[5], f[6], f[7] != 0);
  }
};

void check_replicas_agree(Model& model, distribute::Strategy& strategy, std::int64_t train_samples,
                          std::int64_t validation_samples, const FitOptions& o) {
  const double mine[ReplicaPlan::fields] = {model_fingerprint(model),
                                            static_cast<double>(structural_weights(model).size()),
                                            static_cast<double>(train_samples),
                                            static_cast<double>(validation_samples),
                                            static_cast<double>(o.batch_size),
                                            static_cast<double>(o.initial_epoch),
                                            static_cast<double>(o.epochs),
                                            o.shuffle ? 1.0 : 0.0};
  std::vector<double> all = strategy.all_gather(mine);
  std::vector<std::string> differing;
  for (int r = 1; r < strategy.num_replicas(); ++r) {
    const double* theirs = &all[static_cast<std::size_t>(r) * ReplicaPlan::fields];
    if (std::memcmp(theirs, all.data(), sizeof(mine)) != 0)
      differing.push_back(fmt::format("rank {} has {}", r, ReplicaPlan::describe(theirs)));
  }
  if (!differing.empty())
    throw ValueError(fmt::format("fit: model '{}' differs across the {} replicas: rank 0 has {}; {}. Every rank must "
                                 "build the same model and call fit with the same data sizes and options",
                                 model.name(), strategy.num_replicas(), ReplicaPlan::describe(all.data()),
                                 fmt::join(differing, "; ")));
}

// Every weight (trainable or not) takes rank 0's value: one broadcast of all of them packed.
void broadcast_weights(Model& model, distribute::Strategy& strategy) {
  auto weights = structural_weights(model);
  std::vector<std::byte> packed;
  for (const auto& [path, v] : weights) {
    const Tensor t = v.value().contiguous();
    const auto* bytes = static_cast<const std::byte*>(t.raw_data());
    packed.insert(packed.end(), bytes, bytes + t.numel() * static_cast<std::int64_t>(dtype_size(t.dtype())));
  }
  strategy.broadcast(packed, 0);
  if (strategy.is_chief()) return;
  std::size_t offset = 0;
  for (const auto& [path, v] : weights) {
    Tensor t = Tensor::empty(v.shape(), v.dtype());
    const auto n = static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype());
    std::memcpy(t.raw_data(), packed.data() + offset, n);
    offset += n;
    v.assign(t);
  }
}

// Rank 0 draws a seed from its stream and every replica reseeds keel's global stream with it.
void align_random_streams(distribute::Strategy& strategy) {
  std::uint64_t seed = strategy.is_chief() ? random::next_seed() : 0;
  strategy.broadcast(std::as_writable_bytes(std::span<std::uint64_t>(&seed, 1)), 0);
  set_random_seed(seed);
}


// The moving statistics of unsynchronized BatchNormalization layers: replica-local after a step.
void collect_replica_local_state(const layers::Layer& layer, std::vector<Variable>& out) {
  if (const auto* bn = dynamic_cast<const layers::BatchNormalizationLayer*>(&layer); bn && !bn->options().synchronized) {
    for (const Variable& v : bn->non_trainable_weights()) out.push_back(v);
  }
  for (const auto& inner : layer.sublayers()) collect_replica_local_state(*inner, out);
}

}  // namespace

ReplicaGroup ReplicaGroup::current() {
  distribute::Strategy& s = distribute::current_strategy();
  return ReplicaGroup(s.num_replicas() > 1 ? &s : nullptr);
}

int ReplicaGroup::rank() const { return strategy_ ? strategy_->rank() : 0; }

void ReplicaGroup::begin_fit(Model& model, std::int64_t train_samples, std::int64_t validation_samples,
                             FitOptions& options) const {
  if (!strategy_) return;
  check_replicas_agree(model, *strategy_, train_samples, validation_samples, options);
  broadcast_weights(model, *strategy_);
  align_random_streams(*strategy_);
  if (!strategy_->is_chief()) options.verbose = 0;
}

Tensor ReplicaGroup::local_rows(const Tensor& x) const {
  if (!strategy_ || !x.defined()) return x;
  const distribute::Share s = distribute::share_of(samples_of(x), strategy_->num_replicas(), strategy_->rank());
  return x.narrow(0, s.begin, s.size());
}

Batch ReplicaGroup::local_batch(const Batch& global) const {
  if (!strategy_) return global;
  const distribute::Share s = distribute::share_of(samples_of(global.x.at(0)), strategy_->num_replicas(), strategy_->rank());
  auto rows = [&s](const Tensor& t) { return t.defined() ? t.narrow(0, s.begin, s.size()) : t; };
  Batch local{.sample_weight = rows(global.sample_weight), .first_sample = global.first_sample + s.begin};
  for (const Tensor& t : global.x) local.x.push_back(rows(t));
  for (const Tensor& t : global.y) local.y.push_back(rows(t));
  return local;
}

Tensor ReplicaGroup::gather_rows(const Tensor& local, std::int64_t global_rows) const {
  if (!strategy_ || !local.defined()) return local;
  std::vector<double> all = strategy_->all_gather_varying(local.to_vector());
  Shape shape = local.shape();
  shape[0] = global_rows;
  return Tensor::from_vector(all, shape, local.dtype());
}

double ReplicaGroup::sum(double value) const {
  if (!strategy_) return value;
  std::vector<double> v{value};
  strategy_->all_reduce_sum(v);
  return v[0];
}

std::vector<Tensor> ReplicaGroup::summed_gradients(const std::vector<Variable>& trained) const {
  std::vector<Tensor> local;
  if (!strategy_) {
    for (const Variable& v : trained) local.push_back(v.grad());
    return local;
  }
  std::vector<double> present;
  for (const Variable& v : trained) {
    Tensor g = v.grad();
    present.push_back(g.defined() ? 1.0 : 0.0);
    local.push_back(g.defined() ? g.contiguous() : Tensor::zeros(v.shape(), v.dtype()));
  }
  strategy_->all_reduce_sum(present);
  std::vector<Tensor> summed = strategy_->all_reduce_tensors(local);
  for (std::size_t i = 0; i < summed.size(); ++i)
    if (present[i] == 0) summed[i] = Tensor();
  return summed;
}

void ReplicaGroup::average_replica_local_state(const Model& model, std::int64_t local_rows,
                                               std::int64_t global_rows) const {
  if (!strategy_) return;
  std::vector<Variable> state;
  collect_replica_local_state(model, state);
  if (state.empty()) return;
  std::vector<double> packed;
  for (const Variable& v : state)
    for (double value : v.value().to_vector()) packed.push_back(value * static_cast<double>(local_rows));
  strategy_->all_reduce_sum(packed);
  std::size_t offset = 0;
  for (const Variable& v : state) {
    const auto n = static_cast<std::size_t>(v.value().numel());
    std::vector<double> mean(packed.begin() + static_cast<std::ptrdiff_t>(offset),
                             packed.begin() + static_cast<std::ptrdiff_t>(offset + n));
    for (double& m : mean) m /= static_cast<double>(global_rows);
    v.assign(Tensor::from_vector(mean, v.shape(), v.dtype()));
    offset += n;
  }
}

}  // namespace keel::models::detail
