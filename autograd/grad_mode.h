#pragma once

namespace keel {

// True unless a NoGrad scope is active on this thread.
bool grad_enabled();

// While alive, ops on this thread record nothing (inference, optimizer updates).
class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool previous_;
};

}  // namespace keel
