#pragma once
// The JSON form of BatchNormalization's arguments (get_config / from_config).
#include <nlohmann/json.hpp>

#include "keel/core/config_reader.h"

#include "keel/layers/batch_normalization_options.h"

namespace keel::layers {

// Writes every argument except adjustment into `config` (Keras's keys).
void batch_norm_options_to_json(const BatchNormalizationOptions& options, nlohmann::json& config);
// Reads them back (not trainable, which is the layer's base key); `reader` refuses the keys left over,
// and a renorm_clipping key other than rmax, rmin, dmax is a ValueError naming it.
BatchNormalizationOptions read_batch_norm_options(config::ConfigReader& reader);

}  // namespace keel::layers
