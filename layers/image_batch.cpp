#include "keel/layers/image_batch.h"

#include <fmt/format.h>

#include "keel/autograd/ops.h"
#include "keel/core/error.h"
#include "keel/core/random.h"

namespace keel::layers::image {

Tensor as_batch(const Layer& layer, const Tensor& x) {
  if (x.dim() != 3 && x.dim() != 4)
    throw ShapeError(fmt::format("{} '{}': expected images [N, H, W, C] or [H, W, C], got shape {}", layer.class_name(),
                                 layer.name(), to_string(x.shape())));
  Tensor batch = x.dim() == 3 ? ops::unsqueeze(x, 0) : x;
  return batch.dtype() == layer.dtype() ? batch : ops::cast(batch, layer.dtype());
}

Tensor like_input(const Tensor& y, const Tensor& x) { return x.dim() == 3 ? ops::squeeze(y, 0) : y; }

std::vector<double> per_image_uniforms(const CallContext& ctx, std::int64_t n, std::int64_t per_image,
                                       std::uint64_t seed) {
  // Counter-based draws: the global batch's first images come out the same however many follow.
  const std::int64_t first = ctx.first_sample;
  std::vector<double> all = random::uniform({first + n, per_image}, 0.0, 1.0, seed, DType::float64).to_vector();
  all.erase(all.begin(), all.begin() + first * per_image);
  return all;
}

void require_channels_last(config::ConfigReader& reader) {
  const nlohmann::json& data_format = reader.value("data_format");
  if (data_format.is_null() || data_format == "channels_last") return;
  reader.fail("data_format", "must be \"channels_last\" (keel's image layers are NHWC)", data_format);
}

}  // namespace keel::layers::image
