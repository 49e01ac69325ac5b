#pragma once
// What the one training loop (Model::run_fit) needs besides its batches: the epochs, the callbacks with
// the History recorder bound to the model, and how to validate after each epoch. Shared by fit on
// tensors and fit on a data::Dataset.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "keel/models/callbacks.h"

namespace keel::models::detail {

struct FitCallbacks {
  FitCallbacks(const std::vector<callbacks::CallbackPtr>& user_callbacks, Model* model)
      : all(user_callbacks), history(std::make_shared<callbacks::HistoryCallback>()) {
    all.push_back(history);
    for (auto& cb : all) {
      cb->set_model(model);
      stop_on_nonfinite = stop_on_nonfinite || cb->stops_on_nonfinite_loss();
      log_learning_rate = log_learning_rate || cb->logs_learning_rate();
    }
  }

  std::vector<callbacks::CallbackPtr> all;
  std::shared_ptr<callbacks::HistoryCallback> history;
  bool stop_on_nonfinite = false;  // some callback (TerminateOnNaN) ends fit at a non-finite loss
  bool log_learning_rate = false;  // some callback wants "learning_rate" in the epoch logs
};

struct FitLoop {
  std::int64_t epochs = 1;
  std::int64_t initial_epoch = 0;
  int verbose = 1;
  std::vector<callbacks::CallbackPtr> callbacks = {};
  // Loss and metrics on the validation data in metrics_names() order; unset: no validation.
  std::function<std::vector<double>()> validate = {};
};

}  // namespace keel::models::detail
