#include "keel/optim/adamw.h"

namespace keel::optim {

AdamW::AdamW(AdamWOptions options)
    : Adam("AdamW", common_options(options), options.beta_1, options.beta_2, options.epsilon, options.amsgrad) {}

}  // namespace keel::optim
