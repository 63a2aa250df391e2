// tune_model.h — what tidal-tune tunes for: a model's gradient layers
// (bytes and relative backward time, backward order) from a DiT preset, a
// layer file, or a plain byte count.
//
// The DiT presets are bench/bucketing's parameter lists (dit_models.h:
// DiT-S/2, DiT-B/2, DiT-XL/2 from their hyper-parameters, 256x256 images,
// 32x32 latents, 256 tokens), one layer per parameter tensor, with a
// backward-time weight proportional to its FLOPs.
#pragma once

#include <string>
#include <vector>

#include "lib/core/status.h"
#include "topology/tuning/bucket_model.h"

namespace tidal {
namespace tune {

struct ModelLayer {
  std::string name;
  double params = 0;        // trainable parameters (gradient elements)
  double bwd_weight = 0;    // relative backward time (FLOPs-proportional)
};

struct ModelSpec {
  std::string name;
  std::vector<ModelLayer> layers;  // forward order
  double total_params() const;
};

// "dit-s", "dit-b", "dit-xl" (also "dit-s/2", "DiT-XL/2"). Errors name the
// known presets.
Status dit_model(const std::string& name, ModelSpec* out);

// A layer file: one layer per line, forward order, "name params
// [bwd_weight]" (whitespace or commas; '#' comments). Without a weight a
// layer's backward time is proportional to its parameters.
Status load_model_file(const std::string& path, ModelSpec* out);

// The model's gradient production profile, backward order, at
// `bytes_per_param` bytes per gradient element.
std::vector<tuning::GradLayer> grad_layers(const ModelSpec& model, double bytes_per_param);

}  // namespace tune
}  // namespace tidal
