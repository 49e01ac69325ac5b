// The start of a distributed fit: replicas agree on the model and data, then start from rank 0's
// weights and random stream.
#include <fmt/format.h>

#include <cstring>
#include <string>
#include <vector>

#include "keel/core/error.h"
#include "keel/core/random.h"
#include "keel/models/crc32.h"
#include "keel/models/distributed_training.h"
#include "keel/models/saving.h"

namespace keel {
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

}  // namespace

distribute::Strategy* multi_replica_strategy() {
  distribute::Strategy& s = distribute::current_strategy();
  return s.num_replicas() > 1 ? &s : nullptr;
}

void DistributedTraining::begin_fit(Model& model, distribute::Strategy& strategy, std::int64_t train_samples,
                                    std::int64_t validation_samples, FitOptions& options) {
  check_replicas_agree(model, strategy, train_samples, validation_samples, options);
  broadcast_weights(model, strategy);
  align_random_streams(strategy);
  if (!strategy.is_chief()) options.verbose = 0;
}

}  // namespace keel
