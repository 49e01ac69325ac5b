#include "keel/layers/image_batch.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"

namespace keel::layers::image {

Tensor as_batch(const Layer& layer, const Tensor& x) {
  if (x.dim() != 3 && x.dim() != 4)
    throw ShapeError(fmt::format("{} '{}': expected images [N, H, W, C] or [H, W, C], got shape {}", layer.class_name(),
                                 layer.name(), to_string(x.shape())));
  Tensor batch = x.dim() == 3 ? ops::unsqueeze(x, 0) : x;
  return batch.dtype() == layer.dtype() ? batch : ops::cast(batch, layer.dtype());
}

Tensor like_input(const Tensor& y, const Tensor& x) { return x.dim() == 3 ? ops::squeeze(y, 0) : y; }

void require_channels_last(const char* class_name, const nlohmann::json& config) {
  if (!config.contains("data_format") || config["data_format"].is_null() || config["data_format"] == "channels_last")
    return;
  throw ValueError(fmt::format("{}: data_format must be \"channels_last\" (keel's image layers are NHWC), got {}",
                               class_name, config["data_format"].dump()));
}

}  // namespace keel::layers::image
