#pragma once
// The reference convnet of the LibTorch comparison (bench/keel_bench_models.cpp), built, with
// twin_spec.h's weights, and compiled with Adam and sparse categorical cross-entropy from logits.
#include <memory>

#include <keel/keel.h>

namespace keel::bench {

std::shared_ptr<Sequential> reference_convnet();

}  // namespace keel::bench
