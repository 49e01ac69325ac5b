#pragma once
// The JSON form of BatchNormalization's arguments (get_config / from_config).
#include <nlohmann/json.hpp>

#include "keel/layers/batch_normalization_options.h"

namespace keel::layers {

// Writes every argument except adjustment into `config` (Keras's keys).
void batch_norm_options_to_json(const BatchNormalizationOptions& options, nlohmann::json& config);
// Reads them back; a key that is no argument (or name / dtype), or a renorm_clipping key other than
// rmax, rmin, dmax, is a ValueError naming it.
BatchNormalizationOptions batch_norm_options_from_json(const nlohmann::json& config);

}  // namespace keel::layers
