#include "keel/models/callbacks.h"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iostream>
#include <string_view>

#include "keel/core/error.h"
#include "keel/core/log.h"
#include "keel/core/strategy.h"
#include "keel/models/model.h"

namespace keel::callbacks {
namespace {

bool maximizes(Mode mode, const std::string& monitor) {
  if (mode != Mode::auto_) return mode == Mode::max;
  for (const char* up : {"acc", "auc", "precision", "recall"})
    if (monitor.find(up) != std::string::npos) return true;
  return false;
}

std::optional<double> monitored(const Logs& logs, const std::string& monitor, const char* error_context) {
  auto it = logs.find(monitor);
  if (it != logs.end()) return it->second;
  std::string available;
  for (const auto& [k, _] : logs) available += (available.empty() ? "" : ", ") + k;
  log::warn(fmt::format("{}: the monitored quantity '{}' is not in the logs (available: {})", error_context, monitor,
                        available));
  return std::nullopt;
}

}  // namespace

std::string format_epoch_path(const std::string& pattern, std::int64_t epoch) {
  std::string out;
  std::size_t at = 0;
  while (true) {
    std::size_t open = pattern.find("{epoch", at);
    std::size_t close = open == std::string::npos ? open : pattern.find('}', open);
    if (close == std::string::npos) break;
    std::string spec = pattern.substr(open + 6, close - open - 6);  // "" or ":02d"
    int width = 0;
    if (spec.size() >= 3 && spec[0] == ':' && spec.back() == 'd') width = std::atoi(spec.c_str() + 1);
    else if (!spec.empty()) break;
    out += pattern.substr(at, open - at) + fmt::format("{:0{}d}", epoch, width);
    at = close + 1;
  }
  return out + pattern.substr(at);
}

void HistoryCallback::on_train_begin(const Logs&) { history_ = History{}; }

void HistoryCallback::on_epoch_end(std::int64_t epoch, const Logs& logs) {
  history_.epoch.push_back(epoch);
  for (const auto& [key, value] : logs) history_.history[key].push_back(value);
}

EarlyStopping::EarlyStopping(Options options) : options_(std::move(options)) {
  if (options_.patience < 0) throw ValueError(fmt::format("EarlyStopping: patience must be >= 0, got {}", options_.patience));
  maximize_ = maximizes(options_.mode, options_.monitor);
}

bool EarlyStopping::improved(double current, double reference) const {
  double delta = std::abs(options_.min_delta);
  return maximize_ ? current - delta > reference : current + delta < reference;
}

void EarlyStopping::on_train_begin(const Logs&) {
  wait_ = 0;
  stopped_epoch_ = 0;
  best_epoch_ = 0;
  best_ = maximize_ ? -INFINITY : INFINITY;
  best_weights_.clear();
}

void EarlyStopping::on_epoch_end(std::int64_t epoch, const Logs& logs) {
  std::optional<double> current = monitored(logs, options_.monitor, "EarlyStopping");
  if (!current || epoch < options_.start_from_epoch) return;
  if (options_.restore_best_weights && best_weights_.empty()) {
    best_weights_ = model()->get_weights();
    best_epoch_ = epoch;
  }
  ++wait_;
  if (improved(*current, best_)) {
    best_ = *current;
    best_epoch_ = epoch;
    if (options_.restore_best_weights) best_weights_ = model()->get_weights();
    // Keras 3: an improvement never stops training; it restarts the wait only if it also beats the baseline.
    if (!options_.baseline || improved(*current, *options_.baseline)) wait_ = 0;
    return;
  }
  if (wait_ >= options_.patience && epoch > 0) {
    stopped_epoch_ = epoch;
    model()->stop_training = true;
  }
}

void EarlyStopping::on_train_end(const Logs&) {
  if (stopped_epoch_ > 0 && options_.verbose > 0)
    std::cout << fmt::format("Epoch {}: early stopping\n", stopped_epoch_ + 1);
  if (options_.restore_best_weights && !best_weights_.empty()) {
    if (options_.verbose > 0)
      std::cout << fmt::format("Restoring model weights from the end of the best epoch: {}.\n", best_epoch_ + 1);
    model()->set_weights(best_weights_);
  }
}

// Every "{epoch...}" placeholder must be one that format_epoch_path formats: "{epoch}", or
// "{epoch:<width>d}" with a decimal width up to 255 (the file-name limit), zero-padded.
static void check_epoch_placeholders(const std::string& filepath) {
  for (std::size_t open = filepath.find("{epoch"); open != std::string::npos; open = filepath.find("{epoch", open + 1)) {
    std::size_t close = filepath.find('}', open);
    if (close == std::string::npos) return;
    std::string_view spec = std::string_view(filepath).substr(open + 6, close - open - 6);
    if (spec.empty()) continue;
    int width = -1;
    if (spec.size() >= 3 && spec.front() == ':' && spec.back() == 'd' && std::isdigit(static_cast<unsigned char>(spec[1]))) {
      auto [end, err] = std::from_chars(spec.data() + 1, spec.data() + spec.size() - 1, width);
      if (err != std::errc() || end != spec.data() + spec.size() - 1) width = -1;
    }
    if (width < 0 || width > 255)
      throw ValueError(fmt::format("ModelCheckpoint: filepath '{}' has the placeholder '{}'; use {{epoch}} or "
                                   "{{epoch:<width>d}} with a width from 0 to 255, e.g. {{epoch:02d}}",
                                   filepath, filepath.substr(open, close - open + 1)));
  }
}

ModelCheckpoint::ModelCheckpoint(Options options) : options_(std::move(options)) {
  if (options_.filepath.empty()) throw ValueError("ModelCheckpoint: filepath must not be empty");
  check_epoch_placeholders(options_.filepath);
  maximize_ = maximizes(options_.mode, options_.monitor);
  best_ = maximize_ ? -INFINITY : INFINITY;
}

void ModelCheckpoint::on_epoch_end(std::int64_t epoch, const Logs& logs) {
  if (options_.save_best_only) {
    std::optional<double> current = monitored(logs, options_.monitor, "ModelCheckpoint");
    if (!current) return;
    // Keras starts from an infinite best: NaN and infinities never count as improvements.
    bool better = maximize_ ? *current > best_ : *current < best_;
    if (!better) return;
    if (options_.verbose > 0)
      std::cout << fmt::format("Epoch {}: {} improved to {:.5f}, saving model\n", epoch + 1, options_.monitor, *current);
    best_ = *current;
  }
  std::string path = format_epoch_path(options_.filepath, epoch + 1);
  if (options_.save_weights_only) model()->save_weights(path);
  else model()->save(path);
}

ReduceLROnPlateau::ReduceLROnPlateau(Options options) : options_(std::move(options)) {
  if (!(options_.factor < 1.0) || !(options_.factor >= 0))
    throw ValueError(fmt::format("ReduceLROnPlateau: factor must be in [0, 1), got {}", options_.factor));
  maximize_ = maximizes(options_.mode, options_.monitor);
}

void ReduceLROnPlateau::on_train_begin(const Logs&) {
  best_ = maximize_ ? -INFINITY : INFINITY;
  wait_ = 0;
  cooldown_counter_ = 0;
}

void ReduceLROnPlateau::on_epoch_end(std::int64_t epoch, const Logs& logs) {
  std::optional<double> current = monitored(logs, options_.monitor, "ReduceLROnPlateau");
  if (!current) return;
  bool in_cooldown = cooldown_counter_ > 0;
  if (in_cooldown) {
    --cooldown_counter_;
    wait_ = 0;
  }
  bool better = maximize_ ? *current > best_ + options_.min_delta : *current < best_ - options_.min_delta;
  if (better) {
    best_ = *current;
    wait_ = 0;
  } else if (cooldown_counter_ == 0) {  // Keras reads in_cooldown() again after the decrement
    if (++wait_ >= options_.patience) {
      auto& optimizer = model()->optimizer();
      double old_lr = optimizer->learning_rate();
      if (old_lr > options_.min_lr) {
        double new_lr = std::max(old_lr * options_.factor, options_.min_lr);
        optimizer->set_learning_rate(new_lr);
        if (options_.verbose > 0)
          std::cout << fmt::format("Epoch {}: ReduceLROnPlateau reducing learning rate to {}.\n", epoch + 1, new_lr);
        cooldown_counter_ = options_.cooldown;
        wait_ = 0;
      }
    }
  }
}

LearningRateScheduler::LearningRateScheduler(std::function<double(std::int64_t, double)> schedule, int verbose)
    : schedule_(std::move(schedule)), verbose_(verbose) {
  if (!schedule_) throw ValueError("LearningRateScheduler: the schedule function is empty");
}

void LearningRateScheduler::on_epoch_begin(std::int64_t epoch, const Logs&) {
  auto& optimizer = model()->optimizer();
  double lr = schedule_(epoch, optimizer->learning_rate());
  if (!std::isfinite(lr))
    throw ValueError(fmt::format("LearningRateScheduler: the schedule returned {} for epoch {}", lr, epoch));
  optimizer->set_learning_rate(lr);
  if (verbose_ > 0)
    std::cout << fmt::format("\nEpoch {}: LearningRateScheduler setting learning rate to {}.\n", epoch + 1, lr);
}

CSVLogger::CSVLogger(std::filesystem::path path, Options options) : path_(std::move(path)), options_(std::move(options)) {}

// Under a multi-replica strategy only rank 0 writes the file.
void CSVLogger::on_train_begin(const Logs&) {
  if (!distribute::current_strategy().is_chief()) return;
  header_written_ = options_.append && std::filesystem::exists(path_) && std::filesystem::file_size(path_) > 0;
  keys_.clear();
  if (!options_.append) {
    std::ofstream out(path_, std::ios::trunc);
    if (!out) throw IOError(fmt::format("CSVLogger: cannot open '{}' for writing", path_.string()));
  }
}

void CSVLogger::on_epoch_end(std::int64_t epoch, const Logs& logs) {
  if (!distribute::current_strategy().is_chief()) return;
  std::ofstream out(path_, std::ios::app);
  if (!out) throw IOError(fmt::format("CSVLogger: cannot open '{}' for writing", path_.string()));
  if (keys_.empty())
    for (const auto& [key, _] : logs) keys_.push_back(key);  // std::map: sorted
  if (!header_written_) {
    out << "epoch";
    for (const auto& k : keys_) out << options_.separator << k;
    out << '\n';
    header_written_ = true;
  }
  out << epoch;
  for (const auto& k : keys_) {
    auto it = logs.find(k);
    out << options_.separator;
    if (it != logs.end()) out << fmt::format("{}", it->second);
  }
  out << '\n';
  if (!out) throw IOError(fmt::format("CSVLogger: writing '{}' failed", path_.string()));
}

LambdaCallback::LambdaCallback(Options options) : options_(std::move(options)) {}
void LambdaCallback::on_epoch_begin(std::int64_t e, const Logs& l) {
  if (options_.on_epoch_begin) options_.on_epoch_begin(e, l);
}
void LambdaCallback::on_epoch_end(std::int64_t e, const Logs& l) {
  if (options_.on_epoch_end) options_.on_epoch_end(e, l);
}
void LambdaCallback::on_train_batch_begin(std::int64_t b, const Logs& l) {
  if (options_.on_train_batch_begin) options_.on_train_batch_begin(b, l);
}
void LambdaCallback::on_train_batch_end(std::int64_t b, const Logs& l) {
  if (options_.on_train_batch_end) options_.on_train_batch_end(b, l);
}
void LambdaCallback::on_train_begin(const Logs& l) {
  if (options_.on_train_begin) options_.on_train_begin(l);
}
void LambdaCallback::on_train_end(const Logs& l) {
  if (options_.on_train_end) options_.on_train_end(l);
}

}  // namespace keel::callbacks
