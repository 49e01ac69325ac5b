#pragma once
// A test double for a distribution strategy: N replicas as N threads of this process, whose
// all_gather meets at a barrier. Each thread installs its replica's context with ReplicaContextScope.
#include <barrier>
#include <functional>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include "keel/core/replica_context.h"

namespace keel::test {

class InProcessReplicas {
 public:
  explicit InProcessReplicas(int replicas) : slots_(static_cast<std::size_t>(replicas)), barrier_(replicas) {
    for (int r = 0; r < replicas; ++r) contexts_.push_back(std::make_unique<Context>(*this, r));
  }

  // Runs fn(rank) on every replica, each on its own thread with its context installed; rethrows the
  // first failure.
  void run(const std::function<void(int rank)>& fn) {
    std::vector<std::exception_ptr> errors(contexts_.size());
    std::vector<std::thread> threads;
    for (std::size_t r = 0; r < contexts_.size(); ++r)
      threads.emplace_back([&, r] {
        ReplicaContextScope scope(contexts_[r].get());
        try {
          fn(static_cast<int>(r));
        } catch (...) {
          errors[r] = std::current_exception();
        }
      });
    for (auto& t : threads) t.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
  }

  int gathers() const { return gathers_; }

 private:
  class Context : public ReplicaContext {
   public:
    Context(InProcessReplicas& group, int rank) : group_(group), rank_(rank) {}
    int num_replicas() const override { return static_cast<int>(group_.slots_.size()); }
    int rank() const override { return rank_; }
    std::vector<double> all_gather(std::span<const double> local) override {
      group_.slots_[static_cast<std::size_t>(rank_)].assign(local.begin(), local.end());
      group_.barrier_.arrive_and_wait();
      std::vector<double> all;
      for (const auto& s : group_.slots_) all.insert(all.end(), s.begin(), s.end());
      if (rank_ == 0) ++group_.gathers_;
      group_.barrier_.arrive_and_wait();  // nobody overwrites a slot before everyone has read it
      return all;
    }

   private:
    InProcessReplicas& group_;
    int rank_;
  };

  std::vector<std::vector<double>> slots_;
  std::barrier<> barrier_;
  std::vector<std::unique_ptr<Context>> contexts_;
  int gathers_ = 0;
};

}  // namespace keel::test
